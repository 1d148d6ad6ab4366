import { DEFAULT_NULL_PAIRS, resolveSynthesisConfig, totalSteps, type SynthesisConfig, type SynthesisConfigInput } from "../engine/index.js";
import { AppError, asAppError, engineCall } from "../errors.js";
import type { BatchRecord, JobCounts, JobRecord, NewJob } from "../store/jobs.js";
import type { MetamerRecord, StageCertificateCounts } from "../store/metamers.js";
import type { ModelRecord } from "../store/models.js";
import type { StimulusRecord } from "../store/stimuli.js";
import { shapeKey } from "../store/stimuli.js";
import type { Store } from "../store/store.js";
import { requireReader, requireRole, viewerOf, type Caller, type RequestContext } from "./authorization.js";
import { configJson, jobPayload, readPayload, type NullDistributionPayload, type SynthesisPayload } from "./jobs/payloads.js";
import type { ModelService } from "./models.js";
import { DispatchPolicy, estimateForwardFlops, FORWARD_PASSES_PER_STEP, type DispatchChoice, type DispatchTarget } from "./dispatch-policy.js";
import type { Dispatcher } from "./ports.js";
import { configHash } from "./metrics/config-hash.js";
import { isUuid } from "./stimuli.js";
import { metamerTargets, type MetamerTargetView } from "./seed-spread.js";
import { batchProgressView, type BatchProgressView, type StageProgressView } from "./progress.js";
import { ensureReferenceNulls, resolveNullSource, type NullSourceInput, type ReferenceNullSpec } from "./reference-nulls.js";

/** What a caller may send as a synthesis config (the engine's type; resolvers take it from here). */
export type { SynthesisConfigInput };

export interface SynthesizeInput {
  modelId: string;
  /** Tensor names or stage labels. */
  stages: string[];
  stimulusIds: string[];
  config?: SynthesisConfigInput | null;
  seed?: number | null;
  /** Several metamers per target: one per (stimulus, stage, seed); each seed's noise draw is shared across stages. */
  seeds?: number[] | null;
  idempotencyKey?: string | null;
  /** A model-level reference null (reference-nulls.ts); absent: the per-set null of each stimulus's set (underpowered). */
  nullSource?: NullSourceInput | null;
  /** Where the jobs run; unset = the dispatch policy decides from the estimated work (dispatch-policy.ts). */
  target?: DispatchTarget | null;
}

export interface SynthesisServiceOptions {
  /** Cap on gradient steps per job (METAMERS_MAX_STEPS). */
  maxTotalSteps?: number;
  /** Pairs in a null distribution (default min(10,000, all pairs)). */
  nullPairs?: number;
  /** Attempts per job before FAILED. */
  maxAttempts?: number;
  /** Steps between checkpoints. */
  checkpointEvery?: number;
  /** Most jobs one request may create. */
  maxJobsPerBatch?: number;
  /** Estimated FLOPs per job from which batches go to the GPU dispatcher, when there is one (default 1e13). */
  gpuWorkThreshold?: number;
  baseUrl?: () => string;
}

export interface SynthesisBatchView {
  batch: BatchRecord;
  jobs: JobRecord[];
  counts: JobCounts;
  /** Where this request's new jobs were sent and why (absent on reads and on an idempotent replay). */
  dispatch?: Omit<DispatchChoice, "dispatcher">;
}

const MAX_JOBS_PER_BATCH = 10_000;

/** A stage as the jobs name it (a tensor), as the caller named it, and whether the fake ReLU applies there. */
interface CheckedStage {
  tensor: string;
  requested: string;
  fakeRelu: boolean;
}

/** A request that passed every check, ready to be written. */
interface CheckedRequest {
  model: ModelRecord;
  /** The batch's seed: the first of `seeds`. */
  seed: number;
  seeds: number[];
  config: SynthesisConfig;
  stages: CheckedStage[];
  stimuli: StimulusRecord[];
  idempotencyKey: string | null;
  nullSource: ReferenceNullSpec | null;
}

/**
 * Metamer synthesis as jobs: checks a request completely, writes one job per (stimulus, stage) and the null
 * distribution jobs the certificates need, and hands the job ids to the dispatcher. The work itself runs in the
 * SYNTHESIS / NULL_DISTRIBUTION handlers (jobs/handlers/synthesis.ts, jobs/handlers/null-distribution.ts).
 */
export class SynthesisService {
  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
    private dispatcher: Dispatcher,
    private readonly options: SynthesisServiceOptions = {},
  ) {}

  private gpu: Dispatcher | null = null;

  /** Where new jobs are announced (local pool, Lambda); set once at start-up. */
  useDispatcher(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** GPU workers (AWS Batch) for batches the dispatch policy sends there; set once at start-up when configured. */
  useGpuDispatcher(dispatcher: Dispatcher | null): void {
    this.gpu = dispatcher;
  }

  get dispatcherKind(): Dispatcher["kind"] {
    return this.dispatcher.kind;
  }

  /** Hands job ids to the dispatcher attached now (reference-null jobs are created outside this service). */
  dispatchJobs(ids: string[]): Promise<void> {
    return this.dispatcher.dispatch(ids);
  }

  async synthesize(caller: Caller, input: SynthesizeInput): Promise<SynthesisBatchView> {
    const ctx = requireRole(caller, "MEMBER");
    const replayed = await this.batchForKey(ctx, input.idempotencyKey);
    if (replayed) return this.view(replayed);
    const request = await this.checkRequest(ctx, input);
    // Decided before anything is written: a target this hub does not run is refused with nothing stored.
    const choice = await this.chooseDispatcher(request, input.target);
    const created = await this.enqueue(ctx, request).catch(async (e: unknown) => {
      // Two requests with the same idempotencyKey raced: the loser returns the winner's batch.
      const winner = isUniqueViolation(e) ? await this.batchForKey(ctx, input.idempotencyKey) : null;
      if (winner) return { batch: winner, ids: [] as string[] };
      throw e;
    });
    if (created.ids.length) await choice.dispatcher.dispatch(created.ids);
    const { dispatcher: _sent, ...dispatch } = choice;
    return { ...(await this.view(created.batch)), ...(created.ids.length ? { dispatch } : {}) };
  }

  /** The dispatch policy's choice for a checked request: the forced target, or by estimated FLOPs per job. */
  private async chooseDispatcher(request: CheckedRequest, target: DispatchTarget | null | undefined): Promise<DispatchChoice> {
    const policy = new DispatchPolicy(this.dispatcher, this.gpu, this.options.gpuWorkThreshold ?? 1e13);
    const forward = estimateForwardFlops(request.model.inputShape, await this.store.models.layers(request.model.id));
    return policy.choose({ target, workPerJob: forward * FORWARD_PASSES_PER_STEP * totalSteps(request.config) });
  }

  /** The batch an earlier request with this idempotency key created, if any. */
  private async batchForKey(ctx: RequestContext, key: string | null | undefined): Promise<BatchRecord | null> {
    return key ? this.store.jobs.findBatchByIdempotencyKey(ctx.groupId, key) : null;
  }

  /** Checks a whole request before anything is written: model, sizes, seed, config, stages and stimuli. */
  private async checkRequest(ctx: RequestContext, input: SynthesizeInput): Promise<CheckedRequest> {
    const model = await this.runnableModel(ctx, input.modelId);
    if (input.stages.length === 0) throw new AppError("BAD_USER_INPUT", "stages: expected at least one stage (a tensor name or stage label), got []");
    if (input.stimulusIds.length === 0) throw new AppError("BAD_USER_INPUT", "stimulusIds: expected at least one stimulus id, got []");
    const seeds = checkSeeds(input.seed, input.seeds);
    const seed = seeds[0];
    const jobCount = input.stages.length * input.stimulusIds.length * seeds.length;
    const maxJobs = this.options.maxJobsPerBatch ?? MAX_JOBS_PER_BATCH;
    if (jobCount > maxJobs) {
      throw new AppError(
        "BAD_USER_INPUT",
        `stages x stimulusIds x seeds: at most ${maxJobs} jobs per request, got ${input.stages.length} x ${input.stimulusIds.length} x ${seeds.length} = ${jobCount}`,
      );
    }
    const config = engineCall(() => resolveSynthesisConfig(input.config ?? {}, { maxTotalSteps: this.options.maxTotalSteps }));
    const stages = await this.resolveStages(model, input.stages);
    const stimuli = await this.checkStimuli(ctx.groupId, model, input.stimulusIds);
    const nullSource = input.nullSource ? await resolveNullSource(this.store, ctx, model, input.nullSource, "nullSource") : null;
    return { model, seed, seeds, config, stages, stimuli, idempotencyKey: input.idempotencyKey ?? null, nullSource };
  }

  /** A model of the caller's group (or shared) that can synthesize: it has an ONNX file and an output tensor. */
  private async runnableModel(ctx: RequestContext, modelId: string): Promise<ModelRecord> {
    const model = isUuid(modelId) ? await this.store.models.findVisible(viewerOf(ctx), modelId, "MODEL_FILE") : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' visible to this group`);
    if (!model.sha256) throw new AppError("UNSUPPORTED_MODEL", `modelId: model ${model.name} v${model.version} has no ONNX file (a reference model) and cannot synthesize`);
    if (!model.outputName) throw new AppError("UNSUPPORTED_MODEL", `modelId: model ${model.name} has no output (logits) tensor, needed for the label check`);
    return model;
  }

  /** Each requested stage (tensor name or label) as a tensor, and whether it gets the fake ReLU. */
  private async resolveStages(model: ModelRecord, requested: string[]): Promise<CheckedStage[]> {
    const stages: CheckedStage[] = [];
    for (const [i, stage] of requested.entries()) {
      const layer = await this.models.resolveStage(model, stage, `stages[${i}]`).catch(async (e: unknown) => {
        // The registry lists every stage; the caller of synthesis needs the ones it can target.
        if (asAppError(e)?.code === "BAD_USER_INPUT") {
          const all = await this.store.models.layers(model.id);
          const labelOf = new Map(Object.entries(model.stageLabels).map(([label, tensor]) => [tensor, label]));
          const usable = all.filter((l) => l.differentiable).map((l) => (labelOf.has(l.name) ? `${labelOf.get(l.name)} (${l.name})` : l.name));
          throw new AppError("BAD_USER_INPUT", `stages[${i}]: no stage '${stage}' in model ${model.name}; differentiable stages: ${usable.join(", ")}`);
        }
        throw e;
      });
      // Fake ReLU at the matched stage whenever it is a ReLU output (the paper's method).
      stages.push({ tensor: layer.name, requested: stage, fakeRelu: layer.producerOp === "Relu" });
    }
    return stages;
  }

  /**
   * In one transaction: the batch, the null distribution jobs its certificates need, and one SYNTHESIS job per
   * (stimulus, stage), each depending on its null job. Returns the ids to dispatch.
   */
  private async enqueue(ctx: RequestContext, request: CheckedRequest): Promise<{ batch: BatchRecord; ids: string[] }> {
    const { model, seed, seeds, config, stages, stimuli, nullSource } = request;
    return this.store.transaction(async (tx) => {
      // The batch's config records the null source and the seed set (when several), so configHash (results by
      // configuration) tells them apart; a one-seed batch stores its seed in `seed` as before.
      const stored = { ...configJson(config), ...(nullSource ? { nullSource } : {}), ...(seeds.length > 1 ? { seeds } : {}) };
      const batch = await tx.jobs.createBatch({
        groupId: ctx.groupId,
        modelId: model.id,
        config: stored,
        seed,
        // Results are keyed by it (metrics/config-hash.ts): computed from exactly what the batch stores.
        configHash: configHash(stored, seed),
        idempotencyKey: request.idempotencyKey,
      });
      const tensors = stages.map((l) => l.tensor);
      const reference = nullSource
        ? await ensureReferenceNulls(tx, ctx.groupId, model.id, nullSource, [...new Set(tensors)], this.options.maxAttempts ?? 3)
        : null;
      const nullJobBySet = reference ? new Map<string, string>() : await this.enqueueNullDistributions(tx, ctx.groupId, model, stimuli, tensors, seed);
      const jobs: NewJob[] = [];
      for (const stimulus of stimuli) {
        for (const stage of stages) for (const jobSeed of seeds) {
          const payload: SynthesisPayload = {
            seed: jobSeed,
            config,
            stage: stage.tensor,
            stageRequested: stage.requested,
            fakeRelu: stage.fakeRelu,
            setId: stimulus.setId,
            nullJobId: reference ? reference.ensured.get(stage.tensor)!.pendingJobId : (nullJobBySet.get(`${stimulus.setId}|${stage.tensor}`) ?? null),
            referenceNullId: reference?.ensured.get(stage.tensor)!.row.id ?? null,
            checkpointEvery: this.options.checkpointEvery ?? 500,
          };
          jobs.push({
            kind: "SYNTHESIS",
            groupId: ctx.groupId,
            batchId: batch.id,
            modelId: model.id,
            stimulusId: stimulus.id,
            stage: stage.tensor,
            payload: jobPayload("SYNTHESIS", payload),
            maxAttempts: this.options.maxAttempts ?? 3,
            totalIterations: totalSteps(config),
            // Not claimable before its null distribution exists: a job never waits for it in a worker slot.
            dependsOnId: payload.nullJobId,
          });
        }
      }
      const synthesisJobs = await tx.jobs.enqueue(jobs);
      const nullJobs = reference ? reference.jobIds : [...new Set(nullJobBySet.values())];
      return { batch, ids: nullJobs.concat(synthesisJobs.map((j) => j.id)) };
    });
  }

  async job(caller: Caller, id: string): Promise<(JobRecord & { metamerId: string | null }) | null> {
    const viewer = requireReader(caller);
    if (!isUuid(id)) return null;
    const job = await this.store.jobs.find(id);
    if (!job || job.kind !== "SYNTHESIS" || !job.batchId) return null;
    if (!(await this.store.visibility.isVisible(viewer, "SYNTHESIS_BATCH", job.batchId))) return null;
    const metamer = job.status === "SUCCEEDED" ? await this.store.metamers.findByJob(job.id) : null;
    return { ...job, metamerId: metamer?.id ?? null };
  }

  async batch(caller: Caller, id: string, opts: { status?: JobRecord["status"]; first?: number; offset?: number } = {}): Promise<SynthesisBatchView | null> {
    const viewer = requireReader(caller);
    if (!isUuid(id)) return null;
    const batch = await this.store.jobs.findVisibleBatch(viewer, id);
    return batch ? this.view(batch, opts) : null;
  }

  /**
   * The batch's progress and ETA (services/progress.ts), from one aggregate query over its jobs; each stage also by
   * its label when the model has one. Null when the batch is not visible to the caller.
   */
  async progress(caller: Caller, batchId: string, now = new Date()): Promise<BatchProgressView & { byStage: (StageProgressView & { stageLabel: string | null })[] } | null> {
    const viewer = requireReader(caller);
    const batch = isUuid(batchId) ? await this.store.jobs.findVisibleBatch(viewer, batchId) : null;
    if (!batch) return null;
    const [rows, model] = await Promise.all([this.store.jobs.progressByBatch(batch.id), this.store.models.findById(batch.modelId)]);
    const progress = batchProgressView(rows, now);
    const labelOf = new Map(Object.entries(model?.stageLabels ?? {}).map(([label, tensor]) => [tensor, label]));
    return { ...progress, byStage: progress.byStage.map((s) => ({ ...s, stageLabel: labelOf.get(s.stage) ?? null })) };
  }

  async cancel(caller: Caller, batchId: string): Promise<SynthesisBatchView> {
    const ctx = requireRole(caller, "MEMBER");
    const batch = isUuid(batchId) ? await this.store.jobs.findBatch(ctx.groupId, batchId) : null;
    if (!batch) throw new AppError("NOT_FOUND", `batchId: no synthesis batch '${batchId}' in this group`);
    await this.store.jobs.cancelBatch(batch.id);
    return this.view((await this.store.jobs.findBatch(ctx.groupId, batchId))!);
  }

  /**
   * Re-queues the batch's FAILED and CANCELLED jobs (and the failed null distributions they wait for) and clears its
   * cancellation; SUCCEEDED jobs keep their metamers. A batch with nothing to retry is BAD_USER_INPUT, not a silent no-op.
   */
  async retry(caller: Caller, batchId: string): Promise<SynthesisBatchView & { requeued: number }> {
    const ctx = requireRole(caller, "MEMBER");
    const batch = isUuid(batchId) ? await this.store.jobs.findBatch(ctx.groupId, batchId) : null;
    if (!batch) throw new AppError("NOT_FOUND", `batchId: no synthesis batch '${batchId}' in this group`);
    const ids = await this.store.transaction((tx) => tx.jobs.requeueBatch(batch.id));
    if (!ids.length) {
      const c = await this.store.jobs.countsByBatch(batch.id);
      throw new AppError(
        "BAD_USER_INPUT",
        `batchId: expected a batch with FAILED or CANCELLED jobs to retry, got one with ${c.queued} queued, ${c.running} running, ${c.succeeded} succeeded`,
      );
    }
    await this.dispatcher.dispatch(ids);
    return { ...(await this.view((await this.store.jobs.findBatch(ctx.groupId, batchId))!)), requeued: ids.length };
  }

  async metamer(caller: Caller, id: string): Promise<MetamerRecord | null> {
    const viewer = requireReader(caller);
    return isUuid(id) ? this.store.metamers.findVisible(viewer, id) : null;
  }

  /**
   * Per stage of a model (network order; optionally one batch): certificates, passed, uninformative at the ceiling
   * (and of those passed), underpowered. Issue 12 item 2: a pass through a rho = 1 tie is counted, not hidden.
   */
  async certificateSummary(caller: Caller, args: { modelId: string; batchId?: string | null }): Promise<(StageCertificateCounts & { stageLabel: string | null; order: number })[]> {
    const viewer = requireReader(caller);
    const model = isUuid(args.modelId) ? await this.store.models.findVisible(viewer, args.modelId) : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${args.modelId}' visible to this group`);
    if (args.batchId) {
      const batch = isUuid(args.batchId) ? await this.store.jobs.findVisibleBatch(viewer, args.batchId) : null;
      if (!batch) throw new AppError("NOT_FOUND", `batchId: no synthesis batch '${args.batchId}' visible to this group`);
      if (batch.modelId !== model.id) throw new AppError("BAD_USER_INPUT", `batchId: batch '${batch.id}' synthesized model ${batch.modelId}, not ${model.name} (${model.id})`);
    }
    const [counts, layers] = await Promise.all([this.store.metamers.certificateCounts(model.id, args.batchId ?? null), this.store.models.layers(model.id)]);
    const order = new Map(layers.map((l) => [l.name, l.order]));
    const labelOf = new Map(Object.entries(model.stageLabels).map(([label, tensor]) => [tensor, label]));
    return counts
      .map((c) => ({ ...c, stageLabel: labelOf.get(c.stage) ?? null, order: order.get(c.stage) ?? Number.MAX_SAFE_INTEGER }))
      .sort((a, b) => a.order - b.order);
  }

  /** A batch's metamers grouped by target (stimulus, stage) across its seeds, with their spread (seed-spread.ts). */
  metamerTargets(caller: Caller, args: { batchId: string; first?: number | null }): Promise<MetamerTargetView[]> {
    return metamerTargets(this.store, caller, args);
  }

  metamerIdsByJobs(jobIds: string[]): Promise<Map<string, string>> {
    return this.store.metamers.idsByJobs(jobIds);
  }

  blobUrl(sha256: string): string {
    return `${this.options.baseUrl?.() ?? ""}/blobs/${sha256}`;
  }

  private async view(batch: BatchRecord, opts: { status?: JobRecord["status"]; first?: number; offset?: number } = {}): Promise<SynthesisBatchView> {
    const [jobs, counts] = await Promise.all([this.store.jobs.listByBatch(batch.id, opts), this.store.jobs.countsByBatch(batch.id)]);
    return { batch, jobs, counts };
  }

  /** Each stimulus must exist in the group, share the model's modality and have (or be convertible to) its input shape. */
  private async checkStimuli(groupId: string, model: ModelRecord, ids: string[]): Promise<StimulusRecord[]> {
    const key = shapeKey(model.inputShape);
    const out: StimulusRecord[] = [];
    const sets = new Map<string, string>();
    for (const [i, id] of ids.entries()) {
      const stimulus = isUuid(id) ? await this.store.stimuli.findStimulus(groupId, id) : null;
      if (!stimulus) throw new AppError("NOT_FOUND", `stimulusIds[${i}]: no stimulus '${id}' in this group`);
      let modality = sets.get(stimulus.setId);
      if (!modality) {
        modality = (await this.store.stimuli.findSet(groupId, stimulus.setId))!.modality;
        sets.set(stimulus.setId, modality);
      }
      if (modality !== model.modality) {
        throw new AppError("INVALID_STIMULUS", `stimulusIds[${i}]: stimulus '${id}' is ${modality}; model ${model.name} takes ${model.modality} input`);
      }
      const tensors = await this.store.stimuli.tensors(stimulus.id);
      if (tensors.length > 0 && !tensors.some((t) => t.shapeKey === key)) {
        throw new AppError(
          "INVALID_STIMULUS",
          `stimulusIds[${i}]: stimulus '${id}' has input shape ${tensors.map((t) => `[${t.shape.join(", ")}]`).join(" / ")}; model ${model.name} takes [${model.inputShape.join(", ")}]`,
        );
      }
      out.push(stimulus);
    }
    return out;
  }

  /**
   * One NULL_DISTRIBUTION job per stimulus set lacking a null for any requested stage, covering those stages plus
   * the model's labelled stages in one pass (so later batches reuse it). A job already queued or running for the
   * same (model, set) is reused rather than duplicated.
   */
  private async enqueueNullDistributions(
    tx: Store,
    groupId: string,
    model: ModelRecord,
    stimuli: StimulusRecord[],
    stages: string[],
    seed: number,
  ): Promise<Map<string, string>> {
    const bySetStage = new Map<string, string>();
    const setIds = [...new Set(stimuli.map((s) => s.setId))];
    for (const setId of setIds) {
      const have = new Set(await tx.metamers.nullDistributionStages(model.id, setId));
      const pending = await tx.jobs.pendingNullJobs(model.id, setId);
      const covered = new Map<string, string>();
      for (const job of pending) {
        const pendingPayload = readPayload(job, "NULL_DISTRIBUTION");
        // A reference null of the same set fills ReferenceNull rows, not this per-set null.
        if (pendingPayload.referenceNullIds) continue;
        for (const stage of pendingPayload.stages) covered.set(stage, job.id);
      }
      const missing = stages.filter((s) => !have.has(s) && !covered.has(s));
      for (const s of stages) if (covered.has(s)) bySetStage.set(`${setId}|${s}`, covered.get(s)!);
      if (missing.length === 0) continue;
      const labelled = Object.values(model.stageLabels).filter((t) => !have.has(t) && !covered.has(t));
      const all = [...new Set([...missing, ...labelled])];
      const payload: NullDistributionPayload = { setId, stages: all, n: this.options.nullPairs ?? DEFAULT_NULL_PAIRS, seed };
      const [job] = await tx.jobs.enqueue([
        { kind: "NULL_DISTRIBUTION", groupId, modelId: model.id, payload: jobPayload("NULL_DISTRIBUTION", payload), maxAttempts: this.options.maxAttempts ?? 3 },
      ]);
      for (const s of all) bySetStage.set(`${setId}|${s}`, job.id);
    }
    return bySetStage;
  }
}

/** Most seeds per request: each multiplies the jobs. */
export const MAX_SEEDS = 32;

/**
 * The request's seeds: `seeds` (distinct, 1 to MAX_SEEDS, each a valid seed; `seed`, if also given, must be the first),
 * else `[seed ?? 0]`.
 */
function checkSeeds(seed: number | null | undefined, seeds: number[] | null | undefined): number[] {
  const valid = (v: number) => Number.isInteger(v) && v >= 0 && v <= 2 ** 31 - 1;
  if (seed != null && !valid(seed)) throw new AppError("BAD_USER_INPUT", `seed: expected an integer in [0, 2147483647], got ${seed}`);
  if (seeds == null) return [seed ?? 0];
  if (seeds.length === 0 || seeds.length > MAX_SEEDS) throw new AppError("BAD_USER_INPUT", `seeds: expected 1 to ${MAX_SEEDS} seeds, got ${seeds.length}`);
  seeds.forEach((v, i) => {
    if (!valid(v)) throw new AppError("BAD_USER_INPUT", `seeds[${i}]: expected an integer in [0, 2147483647], got ${v}`);
  });
  if (new Set(seeds).size !== seeds.length) throw new AppError("BAD_USER_INPUT", `seeds: expected distinct seeds, got [${seeds.join(", ")}]`);
  if (seed != null && seed !== seeds[0]) throw new AppError("BAD_USER_INPUT", `seed: with seeds, leave seed out or give seeds[0] (${seeds[0]}), got ${seed}`);
  return seeds;
}

function isUniqueViolation(e: unknown): boolean {
  const text = String((e as { code?: string })?.code ?? "") + String((e as Error)?.message ?? "");
  return text.includes("P2002") || text.includes("23505") || /unique constraint/i.test(text);
}
