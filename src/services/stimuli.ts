import { withDefaultLimits, type Limits } from "../config.js";
import { AppError, asAppError } from "../errors.js";
import { sha256Hex } from "../store/blob-store.js";
import type { ModelRecord } from "../store/models.js";
import type { Page } from "../store/pagination.js";
import { shapeKey, type StimulusRecord, type StimulusSetRecord, type StimulusTensorRecord } from "../store/stimuli.js";
import type { Store } from "../store/store.js";
import { requireReader, requireRole, viewerOf, type Caller, type RequestContext } from "./authorization.js";
import {
  checkSampleRate,
  checkStimulusFile,
  checkTensorSize,
  contentTypeOf,
  float32Bytes,
  float32FromBytes,
  imageMetadata,
  imageToTensor,
  readWavInfo,
  type ImageResize,
  type StimulusLimits,
  type TensorSpec,
} from "../engine/index.js";
import { audioToTensorOffThread } from "./stimuli-offload.js";
import { decodeBase64, readPageArgs } from "./inputs.js";
import { sanitizeFilename } from "./filenames.js";
import type { UploadService } from "./uploads.js";

export interface CreateStimulusSetInput {
  name: string;
  modality: "IMAGE" | "AUDIO";
  classLabels?: string[] | null;
  /** Audio: the rate tensors are resampled to when no model is named. */
  sampleRate?: number | null;
}

export interface StimulusItemInput {
  label: string;
  filename?: string | null;
  /** base64 bytes (small files) */
  data?: string | null;
  /** or a completed upload (purpose STIMULUS) */
  uploadId?: string | null;
}

export interface AddStimuliInput {
  setId: string;
  items: StimulusItemInput[];
  /** Make the tensors for this model's input (shape, range, sample rate)... */
  modelId?: string | null;
  /** ...or for this shape (values in [0,1] for images). Neither: the file's own size / length. */
  inputShape?: number[] | null;
  /** Audio: RMS to scale each sound to after removing its mean (null: keep the level). */
  rms?: number | null;
  /**
   * Images: how files are fitted to the input (issue 13). Default: centre crop to the input's aspect, downscale, and
   * refuse images smaller than the input. Kept with each stimulus, so tensors made later for other models fit alike.
   */
  resize?: ImageResize | null;
}

export interface AddedStimulus extends StimulusRecord {
  shape: number[];
  tensorSha256: string;
}

const MAX_ITEMS = 1000;

export class StimulusService {
  /** what one file may cost to decode and convert */
  private readonly fileLimits: StimulusLimits;

  constructor(
    private readonly store: Store,
    private readonly limits: Limits,
    private readonly uploads: UploadService,
  ) {
    const l = withDefaultLimits(limits);
    this.fileLimits = { maxPixels: l.maxStimulusPixels, maxElements: l.maxStimulusElements, minSampleRate: l.minSampleRate, maxSampleRate: l.maxSampleRate };
  }

  /** A file as a tensor of `spec`: images through sharp (its own threads), audio on a worker thread. */
  private convert(bytes: Uint8Array, image: boolean, spec: TensorSpec, where: string): Promise<Float32Array> {
    return image ? imageToTensor(bytes, spec, where, this.fileLimits) : audioToTensorOffThread(bytes, spec, where, this.fileLimits);
  }

  async createSet(caller: Caller, input: CreateStimulusSetInput): Promise<StimulusSetRecord> {
    const ctx = requireRole(caller, "MEMBER");
    const name = input.name.trim();
    if (!name || name.length > 200) {
      throw new AppError("BAD_USER_INPUT", `name: expected 1 to 200 characters, got ${JSON.stringify(input.name.slice(0, 220))}`);
    }
    const classLabels = input.classLabels ?? [];
    const dupes = classLabels.filter((l, i) => classLabels.indexOf(l) !== i);
    if (dupes.length) throw new AppError("BAD_USER_INPUT", `classLabels: each label once; repeated: ${[...new Set(dupes)].join(", ")}`);
    if (input.sampleRate != null && (!Number.isInteger(input.sampleRate) || input.sampleRate <= 0)) {
      throw new AppError("BAD_USER_INPUT", `sampleRate: expected a positive whole number of Hz, got ${input.sampleRate}`);
    }
    if (input.sampleRate != null && input.modality !== "AUDIO") {
      throw new AppError("BAD_USER_INPUT", `sampleRate: only AUDIO sets have a sample rate; this set is ${input.modality}`);
    }
    // One name per group (archived sets included), so a script run twice does not make a second set by accident.
    // A check, not a unique index: databases made before issue 13 may hold repeated names.
    const existing = await this.store.stimuli.findSetByName(ctx.groupId, name);
    if (existing) {
      throw new AppError(
        "BAD_USER_INPUT",
        `name: this group already has a stimulus set named '${name}' (id ${existing.id}${existing.archivedAt ? ", archived" : ""}); ` +
          "add files to it with addStimuli(setId), or choose another name",
        { existingSetId: existing.id },
      );
    }
    return this.store.stimuli.createSet({
      groupId: ctx.groupId,
      name,
      modality: input.modality,
      classLabels,
      sampleRate: input.sampleRate ?? null,
    });
  }

  async getSet(caller: Caller, id: string): Promise<StimulusSetRecord | null> {
    const viewer = requireReader(caller);
    return isUuid(id) ? this.store.stimuli.findVisibleSet(viewer, id) : null;
  }

  async listSets(
    caller: Caller,
    args: { first?: number | null; after?: string | null; filter?: { archived?: boolean | null } | null },
  ): Promise<Page<StimulusSetRecord>> {
    const viewer = requireReader(caller);
    return this.store.stimuli.listSets(viewer, { ...readPageArgs(args), archived: args.filter?.archived ?? null });
  }

  async listStimuli(
    caller: Caller,
    setId: string,
    args: { first?: number | null; after?: string | null; label?: string | null },
  ): Promise<Page<StimulusRecord>> {
    const viewer = requireReader(caller);
    const set = isUuid(setId) ? await this.store.stimuli.findVisibleSet(viewer, setId) : null;
    if (!set) throw new AppError("NOT_FOUND", `setId: no stimulus set '${setId}' visible to this caller`);
    return this.store.stimuli.listStimuli(set.id, { ...readPageArgs(args), label: args.label ?? undefined });
  }

  async getStimulus(caller: Caller, id: string): Promise<StimulusRecord | null> {
    const viewer = requireReader(caller);
    return isUuid(id) ? this.store.stimuli.findVisibleStimulus(viewer, id) : null;
  }

  tensors(stimulusId: string): Promise<StimulusTensorRecord[]> {
    return this.store.stimuli.tensors(stimulusId);
  }

  /**
   * Adds files to a set. Every item is checked and converted before anything is written; problems with several
   * items are reported together, and then nothing is stored.
   */
  async addStimuli(caller: Caller, input: AddStimuliInput): Promise<AddedStimulus[]> {
    const ctx = requireRole(caller, "MEMBER");
    const set = isUuid(input.setId) ? await this.store.stimuli.findSet(ctx.groupId, input.setId) : null;
    if (!set) throw new AppError("NOT_FOUND", `setId: no stimulus set '${input.setId}' in this group`);
    if (input.items.length === 0 || input.items.length > MAX_ITEMS) {
      throw new AppError("BAD_USER_INPUT", `items: expected 1 to ${MAX_ITEMS} files, got ${input.items.length}`);
    }
    const model = input.modelId ? await this.modelFor(ctx, input.modelId, set) : null;
    const resize = checkResize(input.resize, set);
    if (input.rms != null && !(input.rms > 0)) throw new AppError("BAD_USER_INPUT", `rms: expected a positive number, got ${input.rms}`);

    // File names are checked before any decoding: a NUL refuses the call, anything else is stored sanitized.
    const names = input.items.map((item, i) => (item.filename != null ? sanitizeFilename(item.filename, `items[${i}].filename`) : null));
    const prepared: { item: StimulusItemInput; bytes: Uint8Array; contentType: string; shape: number[]; tensor: Float32Array }[] = [];
    const problems: AppError[] = [];
    for (const [i, item] of input.items.entries()) {
      const where = `items[${i}]${item.filename ? ` (${item.filename})` : ""}`;
      try {
        if (set.classLabels.length && !set.classLabels.includes(item.label)) {
          throw new AppError(
            "BAD_USER_INPUT",
            `${where}.label: '${item.label}' is not a class of set '${set.name}'; known classes: ${set.classLabels.join(", ")}`,
          );
        }
        const bytes = await this.itemBytes(ctx, item, where);
        const kind = checkStimulusFile(bytes, set.modality, where);
        const spec = { ...(await this.specFor(set, model, input, bytes, where)), resize };
        const tensor = await this.convert(bytes, set.modality === "IMAGE", spec, where);
        prepared.push({ item, bytes, contentType: contentTypeOf(kind), shape: spec.shape, tensor });
      } catch (e) {
        const known = asAppError(e);
        if (!known) throw e;
        problems.push(known);
      }
    }
    if (problems.length === 1) throw problems[0];
    if (problems.length > 1) {
      const code = problems.every((p) => p.code === problems[0].code) ? problems[0].code : "BAD_USER_INPUT";
      throw new AppError(code, `${problems.length} of ${input.items.length} files were refused:\n${problems.map((p) => p.message).join("\n")}`, {
        problems: problems.map((p) => ({ code: p.code, message: p.message })),
      });
    }
    const hashes = prepared.map((p) => sha256Hex(p.bytes));
    const repeated = hashes.filter((h, i) => hashes.indexOf(h) !== i);
    const existing = await this.store.stimuli.existingHashes(set.id, hashes);
    if (repeated.length || existing.size) {
      const names = prepared.filter((_, i) => existing.has(hashes[i]) || repeated.includes(hashes[i])).map((p) => p.item.filename ?? "(unnamed)");
      throw new AppError("CONFLICT", `items: these files are already in set '${set.name}' (or repeated in this call): ${names.join(", ")}`);
    }

    return this.store.transaction(async (tx) => {
      const tensorBlobs: string[] = [];
      for (const p of prepared) {
        const original = await tx.blobs.put(p.bytes, p.contentType);
        await tx.groups.grantBlob(ctx.groupId, original.sha256);
        const t = await tx.blobs.put(float32Bytes(p.tensor), "application/x-float32");
        await tx.groups.grantBlob(ctx.groupId, t.sha256);
        tensorBlobs.push(t.sha256);
      }
      for (const item of input.items) {
        if (item.uploadId && !(await tx.uploads.markConsumed(item.uploadId))) {
          throw new AppError("CONFLICT", `uploadId: upload ${item.uploadId} was used by another request meanwhile`);
        }
      }
      const created = await tx.stimuli.addStimuli(
        set,
        prepared.map((p, i) => ({
          label: p.item.label,
          filename: names[i]?.filename ?? `stimulus-${i}`,
          originalFilename: names[i]?.original ?? null,
          contentType: p.contentType,
          sha256: hashes[i],
          resize,
          tensors: [{ shapeKey: shapeKey(p.shape), shape: p.shape, blobSha256: tensorBlobs[i] }],
        })),
      );
      return created.map((s, i) => ({ ...s, shape: prepared[i].shape, tensorSha256: tensorBlobs[i] }));
    });
  }

  /**
   * The stimulus as a model input (float32, `spec.shape`), made from the original file on first use and kept as a
   * blob. For services (synthesis, recognition) that already checked the caller's access to the stimulus.
   */
  async inputTensor(stimulus: StimulusRecord, spec: TensorSpec): Promise<Float32Array> {
    const key = shapeKey(spec.shape);
    const cached = await this.store.stimuli.tensor(stimulus.id, key);
    if (cached) {
      const bytes = await this.store.blobs.get(cached.blobSha256);
      if (bytes) return float32FromBytes(bytes);
    }
    const original = await this.store.blobs.get(stimulus.sha256);
    if (!original) throw new AppError("NOT_FOUND", `the file of stimulus ${stimulus.id} is missing from the blob store`);
    const where = `stimulus ${stimulus.id}`;
    const fitted = { ...spec, resize: (stimulus.resize as ImageResize | null | undefined) ?? spec.resize ?? null };
    const tensor = await this.convert(original, stimulus.contentType.startsWith("image/"), fitted, where);
    const blob = await this.store.blobs.put(float32Bytes(tensor), "application/x-float32");
    await this.store.groups.grantBlob(stimulus.groupId, blob.sha256);
    await this.store.stimuli.addTensor(stimulus.id, { shapeKey: key, shape: spec.shape, blobSha256: blob.sha256 });
    return tensor;
  }

  private async modelFor(ctx: RequestContext, modelId: string, set: StimulusSetRecord): Promise<ModelRecord> {
    const model = isUuid(modelId) ? await this.store.models.findVisible(viewerOf(ctx), modelId) : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' visible to this group`);
    if (model.modality !== set.modality) {
      throw new AppError("BAD_USER_INPUT", `modelId: model '${model.name}' takes ${model.modality} input; set '${set.name}' is ${set.modality}`);
    }
    return model;
  }

  private async itemBytes(ctx: RequestContext, item: StimulusItemInput, where: string): Promise<Uint8Array> {
    if ((item.data == null) === (item.uploadId == null)) {
      throw new AppError("BAD_USER_INPUT", `${where}: give exactly one of data (base64) or uploadId`);
    }
    if (item.uploadId) return (await this.uploads.bytesFor(ctx.groupId, item.uploadId, "STIMULUS")).bytes;
    return decodeBase64(item.data!, `${where}.data`, { file: this.uploads.limitFor("STIMULUS"), inline: this.limits.maxInlineBytes });
  }

  private async specFor(
    set: StimulusSetRecord,
    model: ModelRecord | null,
    input: AddStimuliInput,
    bytes: Uint8Array,
    where: string,
  ): Promise<TensorSpec> {
    if (model) {
      return {
        shape: model.inputShape,
        inputRange: model.inputRange as [number, number],
        sampleRate: model.sampleRate ?? set.sampleRate,
        rms: input.rms ?? null,
      };
    }
    const range: [number, number] = set.modality === "IMAGE" ? [0, 1] : [-1, 1];
    if (input.inputShape?.length) {
      if (input.inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
        throw new AppError("BAD_USER_INPUT", `inputShape: expected positive whole numbers, got [${input.inputShape.join(",")}]`);
      }
      const sampleRate = set.sampleRate ?? (set.modality === "AUDIO" ? readWavInfo(bytes, where, this.fileLimits).sampleRate : null);
      return { shape: input.inputShape, inputRange: range, sampleRate, rms: input.rms ?? null };
    }
    // No target: the file's own size (images) or length at the set's rate (audio).
    // Both come from the file's header, checked against the limits before anything is decoded.
    if (set.modality === "IMAGE") {
      const meta = await imageMetadata(bytes, where, this.fileLimits);
      const channels = (meta.channels ?? 3) >= 3 ? 3 : 1;
      const shape = [1, channels, meta.height ?? 0, meta.width ?? 0];
      checkTensorSize(shape, where, this.fileLimits);
      return { shape, inputRange: range };
    }
    const audio = readWavInfo(bytes, where, this.fileLimits);
    const rate = set.sampleRate ?? audio.sampleRate;
    checkSampleRate(rate, `${where}: the set's sample rate`, this.fileLimits);
    const shape = [1, Math.floor((audio.frames * rate) / audio.sampleRate)];
    checkTensorSize(shape, where, this.fileLimits);
    return { shape, inputRange: range, sampleRate: rate, rms: input.rms ?? null };
  }
}

const RESIZE_MODES = ["CENTER_CROP", "STRETCH"];

/** The resize option as stored with each stimulus (both fields explicit), or null for the default. */
function checkResize(resize: ImageResize | null | undefined, set: StimulusSetRecord): { upscale: boolean; mode: "CENTER_CROP" | "STRETCH" } | null {
  if (resize == null) return null;
  if (set.modality !== "IMAGE") throw new AppError("BAD_USER_INPUT", `resize: only images are resized; set '${set.name}' is ${set.modality}`);
  const mode = resize.mode ?? "CENTER_CROP";
  if (!RESIZE_MODES.includes(mode)) throw new AppError("BAD_USER_INPUT", `resize.mode: expected one of ${RESIZE_MODES.join(", ")}, got '${mode}'`);
  const out = { upscale: resize.upscale ?? false, mode };
  return out.upscale || out.mode !== "CENTER_CROP" ? out : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string): boolean => UUID.test(id);
