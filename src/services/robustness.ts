// Adversarial robustness per model (issue 12 item 8): evaluateRobustness queues ROBUSTNESS jobs over chunks of a
// stimulus set (handlers/robustness.ts runs PGD with the engine's cross-entropy input gradient), and robustness(modelId)
// reads the evaluations back with their progress and per-epsilon robust accuracy.
import { checkAttack, type PgdNorm } from "../engine/index.js";
import { AppError, engineCall } from "../errors.js";
import type { RobustnessEvaluationRecord } from "../store/robustness.js";
import type { Store } from "../store/store.js";
import { requireRole, viewerOf, type Caller } from "./authorization.js";
import type { RobustnessResult } from "./jobs/handlers/robustness.js";
import { jobPayload } from "./jobs/payloads.js";
import { checkCount } from "./limits.js";
import { isUuid } from "./stimuli.js";

/** The manifest's attack (models/demo/manifest.json robustTestAccuracy, Madry et al.'s step rule 2.5 eps / steps). */
export const ROBUSTNESS_DEFAULTS = { norm: "L2" as PgdNorm, epsilons: [2], steps: 20, stepSize: 0.25, randomStart: true, seed: 0 } as const;
/** Stimuli per ROBUSTNESS job: a few seconds of a worker each on a small model, so progress moves and work spreads. */
export const ROBUSTNESS_CHUNK = 100;
/** Epsilons of one evaluation. */
export const MAX_EPSILONS = 16;

export interface EvaluateRobustnessInput {
  modelId: string;
  stimulusSetId: string;
  norm?: PgdNorm | null;
  epsilons?: number[] | null;
  steps?: number | null;
  stepSize?: number | null;
  randomStart?: boolean | null;
  seed?: number | null;
}

export type RobustnessStatus = "PENDING" | "RUNNING" | "READY" | "FAILED";

export interface RobustnessView extends RobustnessEvaluationRecord {
  status: RobustnessStatus;
  jobsDone: number;
  jobsTotal: number;
  /** the first failed job's error, when FAILED */
  error: string | null;
  resultList: RobustnessResult[];
}

export class RobustnessService {
  constructor(
    private readonly store: Store,
    /** Hands new job ids to the app's dispatcher (the synthesis service's, which main.ts attaches). */
    private readonly dispatch: (jobIds: string[]) => Promise<void>,
    private readonly options: { serviceVersion: string; maxAttempts?: number },
  ) {}

  /** MEMBER: attack every stimulus of the set at every epsilon; returns the evaluation (PENDING) at once. */
  async evaluate(caller: Caller, input: EvaluateRobustnessInput): Promise<RobustnessView> {
    const ctx = requireRole(caller, "MEMBER");
    const viewer = viewerOf(ctx);
    const model = isUuid(input.modelId) ? await this.store.models.findVisible(viewer, input.modelId, "MODEL_FILE") : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${input.modelId}' visible to this group`);
    if (!model.sha256) throw new AppError("UNSUPPORTED_MODEL", `modelId: model ${model.name} has no ONNX file (a reference model), so it cannot be attacked`);
    if (model.classLabels.length === 0) throw new AppError("BAD_USER_INPUT", `modelId: model ${model.name} has no class labels, so robust accuracy has no meaning`);
    const setVisible = isUuid(input.stimulusSetId) && (await this.store.visibility.isVisible(viewer, "STIMULUS_SET", input.stimulusSetId));
    if (!setVisible) throw new AppError("NOT_FOUND", `stimulusSetId: no stimulus set '${input.stimulusSetId}' visible to this group`);

    const norm = input.norm ?? ROBUSTNESS_DEFAULTS.norm;
    const epsilons = input.epsilons ?? [...ROBUSTNESS_DEFAULTS.epsilons];
    if (epsilons.length < 1 || epsilons.length > MAX_EPSILONS) {
      throw new AppError("BAD_USER_INPUT", `epsilons: expected 1 to ${MAX_EPSILONS} values, got ${epsilons.length}`);
    }
    if (new Set(epsilons).size !== epsilons.length) throw new AppError("BAD_USER_INPUT", `epsilons: expected distinct values, got [${epsilons.join(", ")}]`);
    const steps = checkCount("steps", input.steps ?? ROBUSTNESS_DEFAULTS.steps, "attackSteps");
    const seed = checkCount("seed", input.seed ?? ROBUSTNESS_DEFAULTS.seed, "seed");
    const stepSize = input.stepSize ?? ROBUSTNESS_DEFAULTS.stepSize;
    const randomStart = input.randomStart ?? ROBUSTNESS_DEFAULTS.randomStart;
    const range = model.inputRange as [number, number];
    // The engine's checks (every problem listed), once per epsilon, before anything is queued.
    for (const epsilon of epsilons) engineCall(() => checkAttack({ norm, epsilon, steps, stepSize, randomStart, range }));

    const stimuli = await this.store.stimuli.allStimuli(input.stimulusSetId);
    if (stimuli.length === 0) throw new AppError("BAD_USER_INPUT", `stimulusSetId: set '${input.stimulusSetId}' has no stimuli`);
    const classes = new Set(model.classLabels);
    const unlabelled = stimuli.filter((s) => !classes.has(s.label));
    if (unlabelled.length) {
      const examples = unlabelled.slice(0, 3).map((s) => `'${s.filename}' (label '${s.label}')`).join(", ");
      throw new AppError(
        "BAD_USER_INPUT",
        `stimulusSetId: ${unlabelled.length} stimuli have labels that are not classes of model ${model.name} (expected one of ${model.classLabels.slice(0, 10).join(", ")}${model.classLabels.length > 10 ? ", ..." : ""}), e.g. ${examples}`,
      );
    }

    const { evaluation, jobIds } = await this.store.transaction(async (tx) => {
      const evaluation = await tx.robustness.create({
        groupId: ctx.groupId,
        modelId: model.id,
        setId: input.stimulusSetId,
        norm,
        epsilons,
        steps,
        stepSize,
        randomStart,
        seed,
        modelSha256: model.sha256!,
        // replaced by the worker's own versions (onnxruntime, execution provider, device) when the results are written
        software: { "metamer-hub": this.options.serviceVersion },
        n: stimuli.length,
      });
      const chunks: string[][] = [];
      for (let i = 0; i < stimuli.length; i += ROBUSTNESS_CHUNK) chunks.push(stimuli.slice(i, i + ROBUSTNESS_CHUNK).map((s) => s.id));
      const jobs = await tx.jobs.enqueue(
        chunks.map((stimulusIds) => ({
          kind: "ROBUSTNESS" as const,
          groupId: ctx.groupId,
          modelId: model.id,
          payload: jobPayload("ROBUSTNESS", { evaluationId: evaluation.id, stimulusIds }),
          maxAttempts: this.options.maxAttempts ?? 3,
          totalIterations: stimulusIds.length * epsilons.length,
        })),
      );
      const jobIds = jobs.map((j) => j.id);
      await tx.robustness.setJobs(evaluation.id, jobIds);
      return { evaluation: { ...evaluation, jobIds }, jobIds };
    });
    await this.dispatch(jobIds);
    return this.view(evaluation);
  }

  /** READER: the group's evaluations of a model it can see, newest first. */
  async list(caller: Caller, args: { modelId: string; first?: number | null }): Promise<RobustnessView[]> {
    const ctx = requireRole(caller, "READER");
    const first = checkCount("first", args.first ?? 20, "pageFirst");
    const model = isUuid(args.modelId) ? await this.store.models.findVisible(viewerOf(ctx), args.modelId, "MODEL") : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${args.modelId}' visible to this group`);
    const rows = await this.store.robustness.list(ctx.groupId, model.id, first);
    return Promise.all(rows.map((r) => this.view(r)));
  }

  private async view(row: RobustnessEvaluationRecord): Promise<RobustnessView> {
    const jobs = (await Promise.all(row.jobIds.map((id) => this.store.jobs.find(id)))).filter((j) => j !== null);
    const done = jobs.filter((j) => j.status === "SUCCEEDED").length;
    const failed = jobs.find((j) => j.status === "FAILED" || j.status === "CANCELLED");
    const status: RobustnessStatus = row.results
      ? "READY"
      : failed || jobs.length < row.jobIds.length
        ? "FAILED"
        : jobs.some((j) => j.status === "RUNNING" || j.status === "SUCCEEDED")
          ? "RUNNING"
          : "PENDING";
    const error = status === "FAILED" ? (failed?.errorMessage ?? failed?.errorCode ?? "a job of this evaluation is gone; evaluate again") : null;
    return { ...row, status, jobsDone: done, jobsTotal: row.jobIds.length, error, resultList: (row.results as RobustnessResult[] | null) ?? [] };
  }
}
