import { augment, referenceNull, type EngineSessionCache, type SeededRandom } from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import type { StimulusService } from "../../stimuli.js";
import type { NullDistributionPayload } from "../payloads.js";
import { JobLostError, type JobContext } from "../queue.js";
import { jsonSafe } from "./json-safe.js";

/** Bytes of prepared activations one pool may hold (values float32 + centred ranks and values float64 per unit and view). */
const POOL_BUDGET_BYTES = 256 * 1024 * 1024;
/** Most stimuli per pool: with 8 pairs per view, 512 pairs a pool, so heartbeats come often. */
const MAX_POOL = 128;
/** Bytes of reference input tensors kept in memory between pools (the 8,000 MNIST digits take 25 MB). */
const TENSOR_CACHE_BYTES = 512 * 1024 * 1024;

/**
 * The reference mode of a NULL_DISTRIBUTION job: the engine's streamed reference null (pools of distinct stimuli of
 * the reference set, each view augmented when asked, one forward pass per view for every stage), written into the
 * job's ReferenceNull rows. Deterministic in (set, augmentation, n, seed), so a retried job recomputes the same null.
 */
export async function runReferenceNull(
  ctx: JobContext,
  payload: NullDistributionPayload & { referenceNullIds: string[] },
  deps: { stimuli: StimulusService; sessions: EngineSessionCache },
): Promise<void> {
  const started = performance.now();
  const { job, store } = ctx;
  const model = await store.models.findById(job.modelId!);
  if (!model?.sha256) throw new AppError("NOT_FOUND", `job ${job.id}: its model is gone or has no ONNX file`);
  if (payload.referenceNullIds.length !== payload.stages.length) {
    throw new AppError("INTERNAL", `job ${job.id}: ${payload.referenceNullIds.length} reference null rows for ${payload.stages.length} stages`);
  }
  const stimuli = await store.stimuli.allStimuli(payload.setId);
  const spec = { shape: model.inputShape, inputRange: model.inputRange as [number, number], sampleRate: model.sampleRate, rms: null };
  const forward = await deps.sessions.forward(model.sha256, async () => (await store.blobs.get(model.sha256!))!, payload.stages);

  const cache = new Map<number, Float32Array>();
  let cachedBytes = 0;
  const tensor = async (i: number): Promise<Float32Array> => {
    const hit = cache.get(i);
    if (hit) return hit;
    const x = await deps.stimuli.inputTensor(stimuli[i], spec);
    if (cachedBytes + x.byteLength <= TENSOR_CACHE_BYTES) {
      cache.set(i, x);
      cachedBytes += x.byteLength;
    }
    return x;
  };
  const activations = async (i: number, rng: SeededRandom) => {
    const x = await tensor(i);
    const view = payload.augmentation ? augment(x, model.inputShape, spec.inputRange, payload.augmentation, rng) : x;
    const out = await forward.run(view);
    for (const stage of payload.stages) {
      // Ranks and correlations of NaN/Infinity mean nothing: refuse with the stimulus named (a permanent error).
      const bad = out[stage].findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new AppError(
          "INVALID_STIMULUS",
          `reference set ${payload.setId}: stimulus '${stimuli[i].filename}' (${stimuli[i].id}) gives ${out[stage][bad]} at unit ${bad} of stage ${stage}; a null distribution needs finite activations`,
        );
      }
    }
    return out;
  };

  // The pool size follows the model: as many views as fit the budget with every stage's activations prepared.
  const probe = await forward.run(await tensor(0));
  const units = payload.stages.reduce((a, s) => a + probe[s].length, 0);
  const poolSize = Math.max(2, Math.min(MAX_POOL, Math.floor(POOL_BUDGET_BYTES / (units * 20))));
  const results = await referenceNull({
    setSize: stimuli.length,
    n: payload.n,
    seed: payload.seed,
    stages: payload.stages,
    poolSize,
    augmented: payload.augmentation != null,
    activations,
    onPool: async (done, total) => {
      await ctx.progress({ iteration: done, totalIterations: total, loss: null });
      if (ctx.stopRequested()) throw new JobLostError(job.id);
    },
  });
  const elapsedMs = Math.round(performance.now() - started);
  const measured = results[payload.stages[0]].n;
  ctx.log.info({ event: "referenceNull.done", pairs: measured, stages: payload.stages.length, poolSize, elapsedMs }, "reference null computed");
  await ctx.complete(async (tx) => {
    for (const [k, stage] of payload.stages.entries()) {
      const stats = results[stage];
      await tx.nulls.saveResult(payload.referenceNullIds[k], {
        measured: stats.n,
        // SNR = +Infinity (two identical stimuli) is stored as the string "Infinity" (json-safe.ts).
        maxima: jsonSafe(stats.maxima) as Record<string, unknown>,
        quantiles: jsonSafe(stats.quantiles) as Record<string, unknown>,
        elapsedMs,
      });
    }
  }, { iteration: measured, totalIterations: measured, loss: null });
}
