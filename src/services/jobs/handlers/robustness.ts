import { bootstrapMean, RobustnessEvaluator, type PgdNorm } from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import type { RobustnessOutcomeRecord } from "../../../store/robustness.js";
import type { Store } from "../../../store/store.js";
import type { StimulusService } from "../../stimuli.js";
import { readPayload } from "../payloads.js";
import type { JobContext, JobHandler, JobOutcome } from "../queue.js";

export interface RobustnessJobDeps {
  stimuli: StimulusService;
  /** what computes the outcomes (service, onnxruntime, execution provider, device), stored with the results */
  softwareVersions: Record<string, string>;
}

/** Bootstrap of the per-epsilon robust accuracy: the paper's 1,000 resamples, seeded by the evaluation's seed. */
export const ROBUSTNESS_RESAMPLES = 1000;

/** Per epsilon: robust accuracy over the stimuli with its percentile bootstrap 95% CI. */
export interface RobustnessResult {
  epsilon: number;
  accuracy: number;
  low: number;
  high: number;
  n: number;
  resamples: number;
}

/**
 * Runs one ROBUSTNESS job: attacks its chunk of the evaluation's stimuli at every epsilon (engine RobustnessEvaluator:
 * PGD through the model's cross-entropy gradient graph), writes the outcomes, and, when its chunk is the last one,
 * the evaluation's per-epsilon results. Deterministic per (seed, stimulus file, epsilon), so a retried chunk, chunks
 * run in another order, or the same files in another set give the same outcomes.
 */
export class RobustnessJobHandler implements JobHandler {
  constructor(private readonly deps: RobustnessJobDeps) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { job, store } = ctx;
    const payload = readPayload(job, "ROBUSTNESS");
    const evaluation = await store.robustness.find(payload.evaluationId);
    if (!evaluation) throw new AppError("NOT_FOUND", `job ${job.id}: robustness evaluation ${payload.evaluationId} is gone`);
    const model = await store.models.findById(evaluation.modelId);
    if (!model?.sha256) throw new AppError("NOT_FOUND", `job ${job.id}: model ${evaluation.modelId} is gone or has no ONNX file`);
    if (model.sha256 !== evaluation.modelSha256) {
      throw new AppError("NOT_FOUND", `job ${job.id}: model ${model.name}'s file changed since the evaluation was asked for (${evaluation.modelSha256} -> ${model.sha256})`);
    }
    const bytes = await store.blobs.get(model.sha256);
    if (!bytes) throw new AppError("NOT_FOUND", `model ${model.name}: ONNX blob ${model.sha256} is missing`);
    const all = await store.stimuli.allStimuli(evaluation.setId);
    const byId = new Map(all.map((s) => [s.id, s]));
    const spec = { shape: model.inputShape, inputRange: model.inputRange as [number, number], sampleRate: model.sampleRate, rms: null };
    const attack = {
      norm: evaluation.norm as PgdNorm,
      steps: evaluation.steps,
      stepSize: evaluation.stepSize,
      randomStart: evaluation.randomStart,
      range: spec.inputRange,
    };
    const evaluator = await RobustnessEvaluator.create(bytes, { threads: 1 });
    const outcomes: RobustnessOutcomeRecord[] = [];
    try {
      for (const [k, stimulusId] of payload.stimulusIds.entries()) {
        if (ctx.stopRequested()) return "completed";
        const stimulus = byId.get(stimulusId);
        if (!stimulus) throw new AppError("NOT_FOUND", `job ${job.id}: stimulus ${stimulusId} is no longer in set ${evaluation.setId}`);
        const label = model.classLabels.indexOf(stimulus.label);
        if (label < 0) throw new AppError("BAD_USER_INPUT", `stimulus '${stimulus.filename}': label '${stimulus.label}' is not a class of model ${model.name}`);
        const x = await this.deps.stimuli.inputTensor(stimulus, spec);
        // keyed by the file's sha256 (as the synthesis noise is): the same digit gets the same random start in any set
        for (const r of await evaluator.evaluate(x, label, attack, evaluation.epsilons, evaluation.seed, stimulus.sha256)) {
          outcomes.push({ stimulusId, epsilon: r.epsilon, correct: r.correct, predicted: r.predicted });
        }
        ctx.report({ iteration: (k + 1) * evaluation.epsilons.length, totalIterations: payload.stimulusIds.length * evaluation.epsilons.length, loss: null });
      }
    } finally {
      await evaluator.release();
    }
    await ctx.complete(async (tx) => {
      await tx.robustness.lock(evaluation.id);
      await tx.robustness.insertOutcomes(evaluation.id, outcomes);
      if ((await tx.robustness.outcomeCount(evaluation.id)) === evaluation.n * evaluation.epsilons.length) {
        await tx.robustness.saveResults(evaluation.id, await summarize(tx, evaluation.id, evaluation.epsilons, evaluation.seed), { ...this.deps.softwareVersions });
      }
    }, { iteration: outcomes.length, totalIterations: outcomes.length, loss: null });
    return "completed";
  }
}

/** The per-epsilon robust accuracy of a complete evaluation, each with a seeded percentile bootstrap 95% CI. */
async function summarize(tx: Store, evaluationId: string, epsilons: number[], seed: number): Promise<RobustnessResult[]> {
  const outcomes = await tx.robustness.outcomes(evaluationId);
  return epsilons.map((epsilon) => {
    const flags = outcomes.filter((o) => o.epsilon === epsilon).map((o) => (o.correct ? 1 : 0));
    const b = bootstrapMean(flags, { resamples: ROBUSTNESS_RESAMPLES, seed, level: 0.95 });
    return { epsilon, accuracy: b.estimate, low: b.low, high: b.high, n: flags.length, resamples: ROBUSTNESS_RESAMPLES };
  });
}
