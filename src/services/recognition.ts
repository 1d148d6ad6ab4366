import { AppError } from "../errors.js";
import { argmax } from "../engine/validation/certificate.js";
import type { JobRecord } from "../store/jobs.js";
import type { NewRecognition, PendingMetamer } from "../store/recognition.js";
import type { StimulusRecord } from "../store/stimuli.js";
import type { Store } from "../store/store.js";
import { type Caller, requireRole } from "./context.js";
import type { EngineSessionCache } from "./engine-cache.js";
import type { JobContext, JobHandler, JobOutcome } from "./jobs.js";
import type { StimulusService } from "./stimuli.js";

/**
 * Model recognition of metamers and natural stimuli (issue 5, part 1), as RECOGNITION jobs on the generic queue.
 *
 * A job is one recognizer (Job.modelId) and a list of metamer and/or stimulus ids (payload). Work is scheduled
 * - when metamers finish: `enqueueRecognitionForMetamers(store, ids)` (one job per eligible recognizer), and
 * - when a model is registered: `enqueueRecognitionForModel(store, modelId)` (its backlog, in chunks).
 * Overlapping jobs are harmless: the handler skips pairs that already have a row, and the insert relies on the
 * Recognition table's unique indexes with ON CONFLICT DO NOTHING, so every pair is stored exactly once.
 */

export interface RecognitionPayload {
  metamerIds?: string[];
  stimulusIds?: string[];
}

/** Items per job: big enough to batch inference, small enough that a lost lease repeats little work. */
export const RECOGNITION_CHUNK = 250;
/** Inputs per inference call. */
const BATCH = 32;

function chunked(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += RECOGNITION_CHUNK) out.push(ids.slice(i, i + RECOGNITION_CHUNK));
  return out;
}

/** Enqueues recognition of newly finished metamers by every eligible model. Call with the transaction's store. */
export async function enqueueRecognitionForMetamers(store: Store, metamerIds: string[]): Promise<JobRecord[]> {
  if (metamerIds.length === 0) return [];
  const found = await store.recognition.recognizersForMetamers(metamerIds);
  // A recognizer that already has a queued job needs no new one: that job absorbs its backlog when it runs, and
  // the lock taken here keeps it unclaimed until this transaction's metamers are visible to it.
  const targets: typeof found = [];
  for (const t of found) if (!(await store.jobs.lockQueuedRecognition(t.recognizerId, t.groupId))) targets.push(t);
  const jobs = targets.flatMap((t) =>
    chunked(t.metamerIds).map((ids, k) => {
      // The natural stimuli ride along with the first chunk (a handful per metamer batch).
      const stimulusIds = k === 0 ? t.stimulusIds : [];
      return {
        kind: "RECOGNITION" as const,
        groupId: t.groupId,
        modelId: t.recognizerId,
        payload: (stimulusIds.length ? { metamerIds: ids, stimulusIds } : { metamerIds: ids }) as Record<string, unknown>,
        totalIterations: ids.length + stimulusIds.length,
      };
    }),
  );
  return jobs.length ? store.jobs.enqueue(jobs) : [];
}

/** Enqueues a (new) model's backlog: the metamers and natural stimuli of its group it has not classified. */
export async function enqueueRecognitionForModel(store: Store, modelId: string): Promise<JobRecord[]> {
  const model = await store.models.findById(modelId);
  if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}'`);
  if (!model.sha256 || !model.outputName) return []; // reference models (imported studies) cannot run
  const backlog = await store.recognition.unrecognizedFor(modelId);
  const jobs = [
    ...chunked(backlog.metamerIds).map((ids) => ({ metamerIds: ids })),
    ...chunked(backlog.stimulusIds).map((ids) => ({ stimulusIds: ids })),
  ].map((payload: RecognitionPayload) => ({
    kind: "RECOGNITION" as const,
    groupId: model.groupId,
    modelId,
    payload: { ...payload } as Record<string, unknown>,
    totalIterations: (payload.metamerIds?.length ?? 0) + (payload.stimulusIds?.length ?? 0),
  }));
  return jobs.length ? store.jobs.enqueue(jobs) : [];
}

export interface RecognitionJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
}

/** Runs a RECOGNITION job: batched inference of the recognizer, labels matched by name, rows written once. */
export class RecognitionJobHandler implements JobHandler {
  constructor(private readonly deps: RecognitionJobDeps) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { job, store } = ctx;
    const payload = job.payload as RecognitionPayload;
    const recognizer = await store.models.findById(job.modelId ?? "");
    if (!recognizer?.sha256 || !recognizer.outputName) {
      throw new AppError("NOT_FOUND", `job ${job.id}: recognizer ${job.modelId} is gone or has no ONNX file`);
    }
    // Absorb the recognizer's whole backlog: every finished metamer queues a one-item job per recognizer, and
    // whichever of them runs first classifies everything pending in one batched pass, so the later ones find
    // nothing left and finish at once (the unique (recognizer, item) rows keep a race from counting twice).
    const backlog = await store.recognition.unrecognizedFor(recognizer.id);
    const metamerIds = [...new Set([...(payload.metamerIds ?? []), ...backlog.metamerIds])];
    const stimulusIds = [...new Set([...(payload.stimulusIds ?? []), ...backlog.stimulusIds])];
    const metamers = await store.recognition.pendingMetamers(recognizer.id, metamerIds);
    const stimuli = await store.recognition.pendingStimuli(recognizer.id, stimulusIds);
    const total = metamers.length + stimuli.length;
    const rows: NewRecognition[] = [];
    if (total > 0) {
      const sha256 = recognizer.sha256;
      const bytes = async () => {
        const b = await store.blobs.get(sha256);
        if (!b) throw new AppError("NOT_FOUND", `recognizer ${recognizer.name}: ONNX blob ${sha256} is missing`);
        return b;
      };
      const forward = await this.deps.sessions.forward(sha256, bytes, [recognizer.outputName]);
      const itemSize = recognizer.inputShape.slice(1).reduce((a, b) => a * b, 1);
      const sameItemShape = (shape: number[]) => shape.slice(1).join("x") === recognizer.inputShape.slice(1).join("x");
      const label = (logits: Float32Array) => {
        const k = argmax(logits);
        return recognizer.classLabels[k] ?? String(k);
      };

      type Item = { metamer?: PendingMetamer; stimulus?: StimulusRecord };
      const items: Item[] = [
        // A metamer made for another input shape is not a valid input; eligibility already filters these out.
        ...metamers.filter((m) => sameItemShape(m.inputShape)).map((metamer) => ({ metamer })),
        ...stimuli.map((stimulus) => ({ stimulus })),
      ];
      for (let start = 0; start < items.length; start += BATCH) {
        if (ctx.stopRequested()) break;
        const batch = items.slice(start, start + BATCH);
        const x = new Float32Array(batch.length * itemSize);
        // Fetch the batch's inputs concurrently (one blob read each), then run them as one stacked input.
        const inputs = await Promise.all(batch.map((item) => this.input(ctx, item, recognizer)));
        inputs.forEach((input, i) => x.set(input, i * itemSize));
        const logits = (await forward.run(x))[recognizer.outputName];
        const classes = logits.length / batch.length;
        batch.forEach((item, i) => {
          const predicted = label(logits.subarray(i * classes, (i + 1) * classes));
          const truth = item.metamer?.label ?? item.stimulus!.label;
          rows.push({
            recognizerId: recognizer.id,
            metamerId: item.metamer?.id ?? null,
            stimulusId: item.stimulus?.id ?? null,
            predictedLabel: predicted,
            correct: predicted === truth,
          });
        });
        await ctx.progress({ iteration: Math.min(start + BATCH, items.length), totalIterations: items.length, loss: null });
      }
    }
    await ctx.complete(async (tx) => {
      await tx.recognition.insert(rows);
    }, { iteration: rows.length, totalIterations: total, loss: null });
    return "completed";
  }

  private async input(ctx: JobContext, item: { metamer?: PendingMetamer; stimulus?: StimulusRecord }, recognizer: { inputShape: number[]; inputRange: number[]; sampleRate: number | null }): Promise<Float32Array> {
    if (item.metamer) {
      const bytes = await ctx.store.blobs.get(item.metamer.tensorSha256);
      if (!bytes) throw new AppError("NOT_FOUND", `metamer ${item.metamer.id}: tensor blob ${item.metamer.tensorSha256} is missing`);
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    }
    return this.deps.stimuli.inputTensor(item.stimulus!, {
      shape: recognizer.inputShape,
      inputRange: recognizer.inputRange as [number, number],
      sampleRate: recognizer.sampleRate,
      rms: null,
    });
  }
}

/** API-facing scheduling (the triggers above are called by the synthesis and model-registration paths). */
export class RecognitionService {
  constructor(private readonly store: Store) {}

  /**
   * MEMBER: schedules a model's backlog (metamers and natural stimuli of the group it has not classified) as
   * background RECOGNITION jobs; returns the job ids (empty when there is nothing to do).
   */
  async recognizeBacklog(caller: Caller, modelId: string): Promise<string[]> {
    const ctx = requireRole(caller, "MEMBER");
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(modelId)) {
      throw new AppError("BAD_USER_INPUT", `modelId: expected a model id (a UUID), got '${modelId}'`);
    }
    const model = await this.store.models.findVisible(ctx.groupId, modelId);
    if (!model || model.groupId !== ctx.groupId) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' in this group`);
    if (!model.sha256) throw new AppError("UNSUPPORTED_MODEL", `modelId: '${model.name}' is a reference model without an ONNX file, so it cannot classify anything`);
    return (await enqueueRecognitionForModel(this.store, model.id)).map((j) => j.id);
  }
}
