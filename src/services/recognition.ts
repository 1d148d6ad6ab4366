import { AppError } from "../errors.js";
import type { JobRecord } from "../store/jobs.js";
import type { Store } from "../store/store.js";
import { type Caller, requireRole } from "./authorization.js";
import { jobPayload, type RecognitionPayload } from "./jobs/payloads.js";

/**
 * Model recognition of metamers and natural stimuli, as RECOGNITION jobs on the generic queue (the handler:
 * jobs/handlers/recognition.ts).
 *
 * A job is one recognizer (Job.modelId) and a list of metamer and/or stimulus ids (payload). Work is scheduled
 * - when metamers finish: `enqueueRecognitionForMetamers(store, ids)` (one job per eligible recognizer), and
 * - when a model is registered: `enqueueRecognitionForModel(store, modelId)` (its backlog, in chunks).
 * Overlapping jobs are harmless: the handler skips pairs that already have a row, and the insert relies on the
 * Recognition table's unique indexes with ON CONFLICT DO NOTHING, so every pair is stored exactly once.
 */

/** Items per job: big enough to batch inference, small enough that a lost lease repeats little work. */
export const RECOGNITION_CHUNK = 250;

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
        payload: jobPayload("RECOGNITION", stimulusIds.length ? { metamerIds: ids, stimulusIds } : { metamerIds: ids }),
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
    payload: jobPayload("RECOGNITION", payload),
    totalIterations: (payload.metamerIds?.length ?? 0) + (payload.stimulusIds?.length ?? 0),
  }));
  return jobs.length ? store.jobs.enqueue(jobs) : [];
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
