import { withDefaultLimits, type Limits } from "../config.js";
// The inspector runs models in a child process; the engine loads onnxruntime only when a session is made here.
import { ModelInspector, wrapWithNormalization, type InputNormalization, type LayerInfo, type ModelSummary } from "../engine/index.js";
import { AppError, asAppError, engineCall } from "../errors.js";
import { sha256Hex } from "../store/blob-store.js";
import { isUniqueViolation } from "../store/errors.js";
import type { LayerRecord, ModelFilter, ModelRecord } from "../store/models.js";
import type { Page } from "../store/pagination.js";
import type { Store } from "../store/store.js";
import { requireReader, requireRole, type Caller } from "./authorization.js";
import { decodeBase64, readPageArgs } from "./inputs.js";
import { reservedLabelProblem } from "./stages.js";
import { enqueueRecognitionForModel } from "./recognition.js";
import { isUuid } from "./stimuli.js";
import type { UploadService } from "./uploads.js";
import { findStage } from "./stages.js";
import { checkList } from "./listing.js";

export type Modality = "IMAGE" | "AUDIO";
export type TrainingRegime = "STANDARD" | "ADVERSARIAL" | "RANDOM_PERTURBATION" | "OTHER";

export interface RegisterModelInput {
  name: string;
  modality: Modality;
  /** base64 ONNX bytes (small files)... */
  data?: string | null;
  /** ...or a completed upload (purpose MODEL) */
  uploadId?: string | null;
  classLabels?: string[] | null;
  /** default [0,1] for images, [-1,1] for audio */
  inputRange?: number[] | null;
  /** audio models: samples per second of the input waveform */
  sampleRate?: number | null;
  training?: { regime?: TrainingRegime | null; norm?: string | null; epsilon?: number | null } | null;
  /** friendly stage name -> tensor name */
  stageLabels?: Record<string, unknown> | null;
  /** per-channel input normalization the hub bakes into the file as Sub/Div nodes (issue 13) */
  normalization?: InputNormalization | null;
  /** register a new version even when the newest identical file under this name exists (default: return that one) */
  forceNewVersion?: boolean | null;
}

export interface RegisteredModel {
  model: ModelRecord;
  layers: LayerRecord[];
}

const LABEL = /^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$/;

/** Stage labels as comparable text (label order does not matter). */
const canonicalLabels = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const KNOWN_STAGES_SHOWN = 60;

/** The model registry: checks an ONNX file, builds its layer catalogue and keeps it as an immutable version. */
export class ModelService {
  constructor(
    private readonly store: Store,
    private readonly limits: Limits,
    private readonly uploads: UploadService,
  ) {}

  async register(caller: Caller, input: RegisterModelInput): Promise<RegisteredModel> {
    const ctx = requireRole(caller, "MEMBER");
    const meta = checkMetadata(input);
    const uploaded = await this.modelBytes(ctx.groupId, input);
    // The wrapped file is the registered one: its sha256 identifies the model, and synthesis differentiates through it.
    const bytes = input.normalization ? engineCall(() => wrapWithNormalization(uploaded, input.normalization!)) : uploaded;
    const sha256 = sha256Hex(bytes);
    if (!input.forceNewVersion) {
      // Re-registering an identical file under the same name (a script run twice) returns the version already there.
      const same = await this.store.models.findSameFile(ctx.groupId, meta.name, sha256);
      if (same) {
        // Returning it silently would drop metadata the caller changed (a run that fixes its labels would still get
        // the old ones), so a changed description is refused, naming what differs and the ways forward.
        const changed = [
          meta.modality !== same.modality && "modality",
          JSON.stringify(meta.inputRange) !== JSON.stringify(same.inputRange) && "inputRange",
          meta.classLabels.length > 0 && JSON.stringify(meta.classLabels) !== JSON.stringify(same.classLabels) && "classLabels",
          Object.keys(meta.stageLabels).length > 0 && canonicalLabels(meta.stageLabels) !== canonicalLabels(same.stageLabels) && "stageLabels",
        ].filter((x): x is string => typeof x === "string");
        if (changed.length) {
          throw new AppError(
            "CONFLICT",
            `file: model ${same.name} v${same.version} is this same file with other ${changed.join(", ")}; pass forceNewVersion: true to register a new version` +
              (changed.every((c) => c === "stageLabels") ? ", or change the labels with setStageLabels" : ""),
            { existingModelId: same.id, changed },
          );
        }
        if (input.uploadId) await this.store.uploads.markConsumed(input.uploadId);
        return { model: same, layers: await this.store.models.layers(same.id) };
      }
    }
    const { summary, layers } = await inspect(bytes, this.limits);
    const outputName = summary.outputNames[0] ?? null;
    const known = new Set(layers.map((l) => l.name));

    if (meta.classLabels.length) {
      const logits = layers.find((l) => l.name === outputName);
      const classes = logits?.shape.at(-1);
      if (classes !== undefined && classes !== meta.classLabels.length) {
        throw new AppError(
          "BAD_USER_INPUT",
          `classLabels: model output '${outputName}' has ${classes} classes (shape [${logits!.shape.join(",")}]); ` +
            `${meta.classLabels.length} labels were given`,
        );
      }
    }
    const unknownStages = Object.entries(meta.stageLabels).filter(([, tensor]) => !known.has(tensor));
    if (unknownStages.length) {
      const names = layers.map((l) => l.name);
      const shown = names.slice(0, KNOWN_STAGES_SHOWN).join(", ") + (names.length > KNOWN_STAGES_SHOWN ? `, … (${names.length} in all)` : "");
      throw new AppError(
        "BAD_USER_INPUT",
        unknownStages.map(([label, tensor]) => `stageLabels.${label}: no tensor named '${tensor}' in model ${meta.name}`).join("; ") +
          `; known stages: ${shown}`,
        { knownStages: names },
      );
    }

    const lastStage = [...layers].sort((a, b) => a.order - b.order).at(-1)?.name;
    for (const [label, tensor] of Object.entries(meta.stageLabels)) {
      const reserved = reservedLabelProblem(label, tensor, lastStage);
      if (reserved) throw new AppError("BAD_USER_INPUT", `stageLabels.${label}: ${reserved}`);
    }
    const labelOf = new Map(Object.entries(meta.stageLabels).map(([label, tensor]) => [tensor, label]));
    const layerRecords: LayerRecord[] = layers.map((l: LayerInfo) => ({
      name: l.name,
      label: labelOf.get(l.name) ?? null,
      shape: l.shape,
      producerOp: l.producerOp,
      order: l.order,
      differentiable: l.differentiable,
      unsupportedOps: l.unsupportedOps.map((u) => ({ ...u })),
    }));

    // Two registrations of one name at once may both pick version n+1; the loser retries with n+2.
    const model = await retryOnUniqueViolation(() => this.store.transaction(async (tx) => {
      await tx.blobs.put(bytes, "application/onnx");
      await tx.groups.grantBlob(ctx.groupId, sha256);
      if (input.uploadId && !(await tx.uploads.markConsumed(input.uploadId))) {
        throw new AppError("CONFLICT", `uploadId: upload ${input.uploadId} was used by another request meanwhile`);
      }
      const created = await tx.models.create(
        {
          groupId: ctx.groupId,
          name: meta.name,
          modality: meta.modality,
          sha256,
          byteSize: bytes.byteLength,
          opset: summary.opset,
          inputName: summary.inputName,
          inputShape: summary.inputShape,
          inputRange: meta.inputRange,
          sampleRate: meta.sampleRate,
          outputName,
          classLabels: meta.classLabels,
          training: meta.training,
          stageLabels: meta.stageLabels,
          normalization: input.normalization ? { mean: [...input.normalization.mean], std: [...input.normalization.std] } : null,
          originalSha256: input.normalization ? sha256Hex(uploaded) : null,
        },
        layerRecords,
      );
      // The new model classifies the metamers and natural stimuli of its group it can, in RECOGNITION jobs.
      await enqueueRecognitionForModel(tx, created.id);
      return created;
    }));
    return { model, layers: layerRecords };
  }

  /** A model the caller may read (src/store/visibility.ts), or null. */
  async get(caller: Caller, id: string): Promise<ModelRecord | null> {
    const viewer = requireReader(caller);
    return isUuid(id) ? this.store.models.findVisible(viewer, id) : null;
  }

  /** Like get(), but a missing model is NOT_FOUND (for services that need one). */
  async require(caller: Caller, id: string, argument = "modelId"): Promise<ModelRecord> {
    const model = await this.get(caller, id);
    if (!model) throw new AppError("NOT_FOUND", `${argument}: no model '${id}' visible to this group`);
    return model;
  }

  async list(caller: Caller, args: { first?: number | null; after?: string | null; filter?: ModelFilter | null }): Promise<Page<ModelRecord>> {
    const viewer = requireReader(caller);
    for (const field of ["names", "modalities", "regimes", "tags"] as const) checkList(`filter.${field}`, args.filter?.[field]);
    return this.store.models.list(viewer, { ...readPageArgs(args), filter: args.filter ?? undefined });
  }

  /**
   * Replaces a model's tags (MEMBER of the model's group). Tags are metadata for finding models (`models(filter:
   * { tag })`), not part of the immutable version: every version keeps its own.
   */
  async setTags(caller: Caller, modelId: string, tags: string[]): Promise<ModelRecord> {
    const ctx = requireRole(caller, "MEMBER");
    const clean = checkTags(tags);
    const model = await this.get(caller, modelId);
    // Another group's model, even a shared one, is not the caller's to tag: reported like a missing one.
    if (!model || model.groupId !== ctx.groupId) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' in this group`);
    return this.store.models.setTags(model.id, clean);
  }

  /**
   * The layer catalogue in topological order (the caller already holds the model, so access was checked); each layer
   * names its model, since (modelId, name) is a layer's identity (its federation key).
   */
  async layers(modelId: string): Promise<(LayerRecord & { modelId: string })[]> {
    return (await this.store.models.layers(modelId)).map((l) => ({ ...l, modelId }));
  }

  /** The ONNX bytes of a registered model. */
  async bytes(model: ModelRecord): Promise<Uint8Array> {
    const bytes = model.sha256 ? await this.store.blobs.get(model.sha256) : null;
    if (!bytes) throw new AppError("NOT_FOUND", `model ${model.name} v${model.version} has no ONNX file (a reference model?)`);
    return bytes;
  }

  /**
   * The tensor name of a stage given as a tensor name or a friendly label; BAD_USER_INPUT naming the known stages
   * otherwise, UNSUPPORTED_MODEL when no input gradient exists for it.
   */
  async resolveStage(model: ModelRecord, stage: string, argument = "stage"): Promise<LayerRecord> {
    // The one stage resolver (services/stages.ts): a tensor name or a label; unknown -> BAD_USER_INPUT listing them.
    const layer = findStage(model, await this.layers(model.id), stage, argument).layer!;
    if (!layer.differentiable) {
      const ops = layer.unsupportedOps.map((u) => `${u.opType} (opset ${u.opset}, node ${u.nodeName}${u.reason ? `: ${u.reason}` : ""})`);
      throw new AppError(
        "UNSUPPORTED_MODEL",
        `${argument}: stage '${stage}' of model ${model.name} cannot be targeted; no gradient for: ${ops.join("; ")}`,
        { unsupportedOps: layer.unsupportedOps },
      );
    }
    return layer;
  }

  private async modelBytes(groupId: string, input: RegisterModelInput): Promise<Uint8Array> {
    if ((input.data == null) === (input.uploadId == null)) {
      throw new AppError("BAD_USER_INPUT", "registerModel: give exactly one of data (base64 ONNX bytes) or uploadId");
    }
    const limit = this.uploads.limitFor("MODEL");
    const bytes = input.uploadId
      ? (await this.uploads.bytesFor(groupId, input.uploadId, "MODEL")).bytes
      : decodeBase64(input.data!, "data", { file: limit, inline: this.limits.maxInlineBytes });
    if (bytes.byteLength > limit) {
      throw new AppError("PAYLOAD_TOO_LARGE", `data: a model may be at most ${limit} bytes, got ${bytes.byteLength}`, { limit });
    }
    if (bytes.byteLength === 0) throw new AppError("INVALID_ONNX", "data: the file is empty (0 bytes); expected an ONNX model");
    return bytes;
  }
}

async function retryOnUniqueViolation<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isUniqueViolation(e)) throw e;
    }
  }
}

/**
 * The layer catalogue of an untrusted file, computed in the limited inspector process: a model
 * that hangs or allocates without bound is refused there and the server carries on. Errors the inspector reports
 * that are not public codes mean the file is not a usable model.
 */
async function inspect(bytes: Uint8Array, limits: Limits): Promise<{ summary: ModelSummary; layers: LayerInfo[] }> {
  const inspector = inspectorFor(limits);
  try {
    return await inspector.inspect(bytes);
  } catch (e) {
    const known = asAppError(e);
    if (known) throw known;
    if ((e as Error).name === "InspectorReportedError") {
      throw new AppError("INVALID_ONNX", `the ONNX file could not be loaded: ${(e as Error).message}`);
    }
    throw e; // the inspector itself failed: an internal error, logged by the server
  }
}

/** One inspector (one child process, one model at a time) per set of limits, shared by every app of the process. */
const inspectors = new Map<string, ModelInspector>();
function inspectorFor(limits: Limits): ModelInspector {
  const l = withDefaultLimits(limits);
  const settings = {
    timeoutMs: l.inspectTimeoutMs,
    memoryBytes: l.inspectMemoryBytes,
    staticBudgetBytes: l.inspectStaticBytes,
    maxModelBytes: l.maxModelBytes,
  };
  const key = JSON.stringify(settings);
  let inspector = inspectors.get(key);
  if (!inspector) inspectors.set(key, (inspector = new ModelInspector(settings)));
  return inspector;
}

export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 64;
const TAG = /^[a-z0-9._-]+$/;

/** Tags: at most 20, each 1-64 of [a-z0-9._-]; repeats are dropped, the order kept. */
export function checkTags(tags: string[]): string[] {
  if (tags.length > MAX_TAGS) throw new AppError("BAD_USER_INPUT", `tags: at most ${MAX_TAGS} tags, got ${tags.length}`);
  tags.forEach((tag, i) => {
    if (!tag || tag.length > MAX_TAG_LENGTH || !TAG.test(tag)) {
      throw new AppError(
        "BAD_USER_INPUT",
        `tags[${i}]: expected 1 to ${MAX_TAG_LENGTH} characters of a-z, 0-9, '.', '_', '-'; got ${JSON.stringify(tag.slice(0, 80))}`,
      );
    }
  });
  return [...new Set(tags)];
}

function checkMetadata(input: RegisterModelInput) {
  const name = input.name?.trim() ?? "";
  if (!name || name.length > 200) {
    throw new AppError("BAD_USER_INPUT", `name: expected 1 to 200 characters, got ${JSON.stringify((input.name ?? "").slice(0, 220))}`);
  }
  const classLabels = input.classLabels ?? [];
  const dupes = classLabels.filter((l, i) => classLabels.indexOf(l) !== i);
  if (dupes.length) throw new AppError("BAD_USER_INPUT", `classLabels: each label once; repeated: ${[...new Set(dupes)].join(", ")}`);
  const inputRange = input.inputRange ?? (input.modality === "AUDIO" ? [-1, 1] : [0, 1]);
  if (inputRange.length !== 2 || !inputRange.every(Number.isFinite) || !(inputRange[0] < inputRange[1])) {
    throw new AppError("BAD_USER_INPUT", `inputRange: expected [low, high] with low < high, got [${inputRange.join(", ")}]`);
  }
  if (input.sampleRate != null && (!Number.isInteger(input.sampleRate) || input.sampleRate <= 0)) {
    throw new AppError("BAD_USER_INPUT", `sampleRate: expected a positive whole number of Hz, got ${input.sampleRate}`);
  }
  const epsilon = input.training?.epsilon ?? null;
  if (epsilon != null && !(Number.isFinite(epsilon) && epsilon >= 0)) {
    throw new AppError("BAD_USER_INPUT", `training.epsilon: expected a number >= 0, got ${epsilon}`);
  }
  const stageLabels: Record<string, string> = {};
  for (const [label, tensor] of Object.entries(input.stageLabels ?? {})) {
    if (!LABEL.test(label)) {
      throw new AppError("BAD_USER_INPUT", `stageLabels: a label is a short name of letters, digits, '_', '.', '-'; got '${label.slice(0, 120)}'`);
    }
    if (typeof tensor !== "string" || !tensor) {
      throw new AppError("BAD_USER_INPUT", `stageLabels.${label}: expected a tensor name (string), got ${JSON.stringify(tensor)}`);
    }
    stageLabels[label] = tensor;
  }
  return {
    name,
    modality: input.modality,
    classLabels,
    inputRange,
    sampleRate: input.sampleRate ?? null,
    training: { regime: input.training?.regime ?? "STANDARD", norm: input.training?.norm ?? null, epsilon },
    stageLabels,
  };
}
