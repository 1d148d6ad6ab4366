import {
  DEFAULT_REFERENCE_PAIRS,
  MIN_POWERED_NULL_PAIRS,
  resolveAugmentation,
  type AugmentationInput,
  type AugmentationSpec,
} from "../engine/index.js";
import { AppError, engineCall } from "../errors.js";
import type { ModelRecord } from "../store/models.js";
import type { ReferenceNullKey, ReferenceNullRecord } from "../store/nulls.js";
import type { Store } from "../store/store.js";
import { requireRole, viewerOf, type Caller, type RequestContext } from "./authorization.js";
import { jobPayload, type NullDistributionPayload } from "./jobs/payloads.js";
import { checkCount } from "./limits.js";
import { canonicalJson } from "./metrics/config-hash.js";
import type { ModelService } from "./models.js";
import { isUuid } from "./stimuli.js";

/** What a caller sends to choose a reference null: an existing one (its set, augmentation, n, seed) or a spec. */
export interface NullSourceInput {
  referenceNullId?: string | null;
  setId?: string | null;
  augmentation?: AugmentationInput | null;
  n?: number | null;
  seed?: number | null;
}

/** A resolved reference-null spec: what a certificate records as its null's source and the batch config stores. */
export interface ReferenceNullSpec {
  kind: "REFERENCE";
  setId: string;
  augmentation: AugmentationSpec | null;
  n: number;
  seed: number;
}

export interface CreateReferenceNullInput extends NullSourceInput {
  modelId: string;
  /** Tensor names or stage labels; default: the model's labelled stages. */
  stages?: string[] | null;
}

export type ReferenceNullStatus = "PENDING" | "RUNNING" | "READY" | "FAILED";

export interface ReferenceNullView extends ReferenceNullRecord {
  status: ReferenceNullStatus;
  /** The job's error when FAILED. */
  error: string | null;
  /** Fewer than MIN_POWERED_NULL_PAIRS pairs (measured, or requested while pending). */
  underpowered: boolean;
  /** The maxima as numbers; SNR null when infinite (GraphQL floats are finite). */
  maximaValues: { spearman: number; pearson: number; snr: number | null } | null;
}

/** One reference null per stage, and the job that computes it when it is not READY. */
export interface EnsuredNull {
  row: ReferenceNullRecord;
  pendingJobId: string | null;
}

const keyOf = (modelId: string, spec: ReferenceNullSpec): ReferenceNullKey => ({
  modelId,
  setId: spec.setId,
  augmentationKey: spec.augmentation ? canonicalJson(spec.augmentation) : "none",
  n: spec.n,
  seed: spec.seed,
});

/**
 * Model-level reference nulls (docs/science.md §3; issue 12 item 1): computed once per (model, stage, reference set,
 * augmentation, n, seed) by a NULL_DISTRIBUTION job in reference mode, and reused by every synthesis that names the
 * same source. The reference set is any stimulus set of the caller's group (a training-like set, larger than the sets
 * metamers are made of); using the synthesis set itself is allowed but marks the certificates `underpowered`.
 */
export class ReferenceNullService {
  constructor(
    private readonly store: Store,
    private readonly models: ModelService,
    /** Hands new job ids to the app's dispatcher (the synthesis service's: the one main.ts attaches). */
    private readonly dispatch: (jobIds: string[]) => Promise<void>,
    private readonly options: { maxAttempts?: number } = {},
  ) {}

  /** MEMBER: the reference null of these stages (created and queued where missing or failed). */
  async create(caller: Caller, input: CreateReferenceNullInput): Promise<ReferenceNullView[]> {
    const ctx = requireRole(caller, "MEMBER");
    const model = await this.model(ctx, input.modelId);
    const spec = await resolveNullSource(this.store, ctx, model, input, "input");
    const requested = input.stages && input.stages.length > 0 ? input.stages : Object.keys(model.stageLabels);
    if (requested.length === 0) {
      throw new AppError("BAD_USER_INPUT", `input.stages: model ${model.name} has no stage labels, so name the stages (tensor names or labels), got none`);
    }
    const stages: string[] = [];
    for (const [i, s] of requested.entries()) stages.push((await this.models.resolveStage(model, s, `input.stages[${i}]`)).name);
    const { ensured, jobIds } = await this.store.transaction((tx) => ensureReferenceNulls(tx, ctx.groupId, model.id, spec, [...new Set(stages)], this.options.maxAttempts ?? 3));
    if (jobIds.length) await this.dispatch(jobIds);
    return Promise.all([...ensured.values()].map((e) => this.view(e.row)));
  }

  async get(caller: Caller, id: string): Promise<ReferenceNullView | null> {
    const ctx = requireRole(caller, "READER");
    const row = isUuid(id) ? await this.store.nulls.find(id) : null;
    return row && row.groupId === ctx.groupId ? this.view(row) : null;
  }

  async list(caller: Caller, args: { modelId?: string | null; first?: number | null }): Promise<ReferenceNullView[]> {
    const ctx = requireRole(caller, "READER");
    const first = checkCount("first", args.first ?? 50, "pageFirst");
    if (args.modelId && !isUuid(args.modelId)) throw new AppError("BAD_USER_INPUT", `modelId: expected a model id (a UUID), got '${args.modelId}'`);
    const rows = await this.store.nulls.list(ctx.groupId, args.modelId ?? null, first);
    return Promise.all(rows.map((r) => this.view(r)));
  }

  private async model(ctx: RequestContext, modelId: string): Promise<ModelRecord> {
    const model = isUuid(modelId) ? await this.store.models.findVisible(viewerOf(ctx), modelId, "MODEL_FILE") : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' visible to this group`);
    if (!model.sha256) throw new AppError("UNSUPPORTED_MODEL", `modelId: model ${model.name} has no ONNX file (a reference model), so it has no activations to measure`);
    return model;
  }

  private async view(row: ReferenceNullRecord): Promise<ReferenceNullView> {
    const job = row.jobId ? await this.store.jobs.find(row.jobId) : null;
    const status: ReferenceNullStatus =
      row.measured !== null ? "READY"
        : !job || job.status === "FAILED" || job.status === "CANCELLED" ? "FAILED"
          : job.status === "RUNNING" ? "RUNNING" : "PENDING";
    const error = status === "FAILED" ? (job?.errorMessage ?? "its job is gone; ask for the reference null again") : null;
    const m = row.maxima;
    const snr = m ? Number(m.snr) : null;
    const maximaValues = m ? { spearman: Number(m.spearman), pearson: Number(m.pearson), snr: snr !== null && Number.isFinite(snr) ? snr : null } : null;
    return { ...row, status, error, underpowered: (row.measured ?? row.n) < MIN_POWERED_NULL_PAIRS, maximaValues };
  }
}

/**
 * The spec a null source names: an existing reference null of the caller's group (its set, augmentation, n and
 * seed, for any stage), or a reference set with optional augmentation, n (default 100,000, at most 10^6) and seed.
 */
export async function resolveNullSource(store: Store, ctx: RequestContext, model: ModelRecord, input: NullSourceInput, argument: string): Promise<ReferenceNullSpec> {
  if (input.referenceNullId) {
    if (input.setId || input.augmentation || input.n != null || input.seed != null) {
      throw new AppError("BAD_USER_INPUT", `${argument}: give referenceNullId or (setId, augmentation, n, seed), not both`);
    }
    const row = isUuid(input.referenceNullId) ? await store.nulls.find(input.referenceNullId) : null;
    if (!row || row.groupId !== ctx.groupId) throw new AppError("NOT_FOUND", `${argument}.referenceNullId: no reference null '${input.referenceNullId}' in this group`);
    if (row.modelId !== model.id) {
      throw new AppError("BAD_USER_INPUT", `${argument}.referenceNullId: reference null '${row.id}' belongs to another model (${row.modelId}), not ${model.name} (${model.id})`);
    }
    return { kind: "REFERENCE", setId: row.setId, augmentation: row.augmentation as AugmentationSpec | null, n: row.n, seed: row.seed };
  }
  if (!input.setId) throw new AppError("BAD_USER_INPUT", `${argument}: expected referenceNullId or setId (the reference stimulus set), got neither`);
  const set = isUuid(input.setId) ? await store.stimuli.findSet(ctx.groupId, input.setId) : null;
  if (!set) throw new AppError("NOT_FOUND", `${argument}.setId: no stimulus set '${input.setId}' in this group`);
  if (set.modality !== model.modality) {
    throw new AppError("BAD_USER_INPUT", `${argument}.setId: set '${set.name}' is ${set.modality}; model ${model.name} takes ${model.modality} input`);
  }
  const n = checkCount(`${argument}.n`, input.n ?? DEFAULT_REFERENCE_PAIRS, "nullPairs");
  const seed = checkCount(`${argument}.seed`, input.seed ?? 0, "seed");
  const augmentation = engineCall(() => resolveAugmentation(input.augmentation ?? null, model.modality === "AUDIO" ? "AUDIO" : "IMAGE"));
  return { kind: "REFERENCE", setId: set.id, augmentation, n, seed };
}

/**
 * In the caller's transaction: the reference null of every stage for `spec`, creating rows for missing stages and
 * one job for those missing or whose job failed (the same deterministic null again). Returns the rows by stage and
 * the new job ids to dispatch. Shared by createReferenceNull and synthesizeMetamers (a synthesis job depends on it).
 */
export async function ensureReferenceNulls(
  tx: Store,
  groupId: string,
  modelId: string,
  spec: ReferenceNullSpec,
  stages: string[],
  maxAttempts: number,
): Promise<{ ensured: Map<string, EnsuredNull>; jobIds: string[] }> {
  const key = keyOf(modelId, spec);
  const augmentation = spec.augmentation as Record<string, unknown> | null;
  await tx.nulls.createMissing(groupId, key, augmentation, stages, null);
  const rows = await tx.nulls.findStages(key, stages);
  const ensured = new Map<string, EnsuredNull>();
  const toCompute: ReferenceNullRecord[] = [];
  for (const row of rows) {
    if (row.measured !== null) {
      ensured.set(row.stage, { row, pendingJobId: null });
      continue;
    }
    const job = row.jobId ? await tx.jobs.find(row.jobId) : null;
    if (job && (job.status === "QUEUED" || job.status === "RUNNING" || job.status === "SUCCEEDED")) {
      ensured.set(row.stage, { row, pendingJobId: job.id });
    } else {
      toCompute.push(row);
    }
  }
  if (toCompute.length === 0) return { ensured, jobIds: [] };
  const payload: NullDistributionPayload = {
    setId: spec.setId,
    stages: toCompute.map((r) => r.stage),
    n: spec.n,
    seed: spec.seed,
    referenceNullIds: toCompute.map((r) => r.id),
    augmentation: spec.augmentation,
  };
  const [job] = await tx.jobs.enqueue([
    { kind: "NULL_DISTRIBUTION", groupId, modelId, payload: jobPayload("NULL_DISTRIBUTION", payload), maxAttempts, totalIterations: spec.n },
  ]);
  await tx.nulls.reassignJob(toCompute.map((r) => r.id), job.id);
  for (const row of toCompute) ensured.set(row.stage, { row: { ...row, jobId: job.id }, pendingJobId: job.id });
  return { ensured, jobIds: [job.id] };
}
