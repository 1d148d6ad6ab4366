import { nullDistribution, prepareActivations, samplePairs, type EngineSessionCache, type PreparedActivations } from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import type { StimulusService } from "../../stimuli.js";
import { readPayload } from "../payloads.js";
import type { JobContext, JobHandler, JobOutcome } from "../queue.js";
import { jsonSafe } from "./json-safe.js";
import { runReferenceNull } from "./reference-null.js";

/**
 * One NULL_DISTRIBUTION job: a single forward pass per natural stimulus of the set with every requested stage as an
 * output, then the same seeded random pairs measured at each stage. Stored per (model, set, stage) and reused.
 * A payload with `referenceNullIds` is a model-level reference null instead (reference-null.ts).
 */
export class NullDistributionJobHandler implements JobHandler {
  constructor(private readonly deps: { stimuli: StimulusService; sessions: EngineSessionCache }) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { job, store } = ctx;
    const payload = readPayload(job, "NULL_DISTRIBUTION");
    if (payload.referenceNullIds) {
      await runReferenceNull(ctx, { ...payload, referenceNullIds: payload.referenceNullIds }, this.deps);
      return "completed";
    }
    const model = await store.models.findById(job.modelId!);
    if (!model?.sha256) throw new AppError("NOT_FOUND", `job ${job.id}: its model is gone or has no ONNX file`);
    const stimuli = await store.stimuli.allStimuli(payload.setId);
    if (stimuli.length < 2) {
      throw new AppError("BAD_USER_INPUT", `stimulus set ${payload.setId}: a null distribution needs at least 2 stimuli, the set has ${stimuli.length}`);
    }
    const modelBytes = async () => (await store.blobs.get(model.sha256!))!;
    const forward = await this.deps.sessions.forward(model.sha256, modelBytes, payload.stages);
    const prepared: Record<string, PreparedActivations[]> = Object.fromEntries(payload.stages.map((s) => [s, []]));
    for (const [i, stimulus] of stimuli.entries()) {
      const x = await this.deps.stimuli.inputTensor(stimulus, { shape: model.inputShape, inputRange: model.inputRange as [number, number], sampleRate: model.sampleRate, rms: null });
      const out = await forward.run(x);
      for (const stage of payload.stages) {
        // Ranks and correlations of -Infinity/NaN mean nothing: refuse with the stimulus named, once (a permanent
        // error), so the synthesis jobs waiting for this null fail with that reason instead of a retried INTERNAL.
        const bad = out[stage].findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          throw new AppError(
            "INVALID_STIMULUS",
            `stimulus set ${payload.setId}: stimulus '${stimulus.filename}' (${stimulus.id}) gives ${out[stage][bad]} at unit ${bad} of stage ${stage}; a null distribution needs finite activations`,
          );
        }
        prepared[stage].push(prepareActivations(out[stage]));
      }
      if (i % 10 === 9) await ctx.progress({ iteration: i + 1, totalIterations: stimuli.length, loss: null });
    }
    const pairs = samplePairs(stimuli.length, payload.n, payload.seed);
    const results = payload.stages.map((stage) => ({ stage, stats: nullDistribution(prepared[stage], pairs, payload.seed) }));
    await ctx.complete(async (tx) => {
      await tx.metamers.saveNullDistributions(
        results.map(({ stage, stats }) => ({
          modelId: model.id,
          setId: payload.setId,
          stage,
          n: stats.n,
          seed: stats.seed,
          // Two identical stimuli give SNR = +Infinity, which JSON cannot hold: stored as the string "Infinity"
          // (a metamer's number never exceeds it, which is the right verdict).
          maxima: jsonSafe(stats.maxima) as Record<string, number>,
          quantiles: jsonSafe(stats.quantiles) as Record<string, Record<string, number>>,
        })),
      );
    }, { iteration: stimuli.length, totalIterations: stimuli.length, loss: null });
    return "completed";
  }
}
