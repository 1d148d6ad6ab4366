import { AppError } from "../errors.js";
import { decodeCheckpoint, encodeCheckpoint } from "../engine/synthesis/checkpoint.js";
import { initialNoise } from "../engine/synthesis/init.js";
import { MetamerSynthesis } from "../engine/synthesis/loop.js";
import { renderAudio, renderImage } from "../engine/synthesis/render.js";
import { argmax, certify, type Certificate } from "../engine/validation/certificate.js";
import type { NullDistributionStats } from "../engine/validation/null-distribution.js";
import { sha256Hex } from "../store/blob-store.js";
import type { ModelRecord } from "../store/models.js";
import type { EngineSessionCache } from "./engine-cache.js";
import { JobLostError, type JobContext, type JobHandler, type JobOutcome } from "./jobs.js";
import { enqueueRecognitionForMetamers } from "./recognition.js";
import type { StimulusService } from "./stimuli.js";
import { float32Bytes } from "./stimuli-convert.js";
import type { SynthesisPayload } from "./synthesis.js";

export interface SynthesisJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
  softwareVersions: Record<string, string>;
}

/**
 * Runs one SYNTHESIS job: target activations of the natural stimulus, the loop from the seeded noise (or the last
 * checkpoint), then the saved rendering, the certificate, and the Metamer row, written in the same transaction
 * that marks the job SUCCEEDED (so a job yields at most one metamer).
 */
export class SynthesisJobHandler implements JobHandler {
  constructor(private readonly deps: SynthesisJobDeps) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { job, store } = ctx;
    const payload = job.payload as unknown as SynthesisPayload;
    // Phase timings (ms) go to the log: where a job's time went, without a profiler.
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
    };
    const model = await store.models.findById(job.modelId!);
    if (!model?.sha256 || !model.outputName) throw new AppError("NOT_FOUND", `job ${job.id}: its model is gone or has no ONNX file`);
    const stimulus = await store.stimuli.findStimulus(job.groupId, job.stimulusId!);
    if (!stimulus) throw new AppError("NOT_FOUND", `job ${job.id}: its stimulus ${job.stimulusId} is gone`);
    // Before any work: a job without its null distribution fails at once instead of after its whole loop.
    const nullStats = await this.nullFor(ctx, model.id, payload);
    const range = model.inputRange as [number, number];
    const modelBytes = async () => {
      const bytes = await store.blobs.get(model.sha256!);
      if (!bytes) throw new AppError("NOT_FOUND", `model ${model.name}: ONNX blob ${model.sha256} is missing`);
      return bytes;
    };
    const stage = payload.stage;
    const outputs = stage === model.outputName ? [stage] : [stage, model.outputName];
    const forward = await this.deps.sessions.forward(model.sha256, modelBytes, outputs);
    const natural = await this.deps.stimuli.inputTensor(stimulus, {
      shape: model.inputShape,
      inputRange: range,
      sampleRate: model.sampleRate,
      rms: null,
    });
    const naturalOut = await forward.run(natural);
    const target = naturalOut[stage];
    const gradient = await this.deps.sessions.gradient(model.sha256, modelBytes, stage, {
      fakeRelu: payload.fakeRelu,
      loss: payload.config.recipe === "ADAM_RANGE_PENALTY" ? payload.config.loss : "normalizedL2",
    });
    lap("setup");
    const setup = { gradient, target, config: payload.config, range };
    const saved = await ctx.loadCheckpoint();
    const synthesis = saved
      ? MetamerSynthesis.resume(setup, decodeCheckpoint(saved))
      : MetamerSynthesis.start(
          setup,
          // Keyed by the stimulus's content (sha256), not its row id: a random UUID made the "seeded" start differ
          // on every database, so the same file, model, stage, config and seed gave another metamer on each hub.
          initialNoise(natural.length, { modality: model.modality, range, seed: payload.seed, stimulusId: stimulus.sha256 }),
        );
    if (saved) ctx.log.info({ event: "job.resumed", iteration: synthesis.iteration }, "resuming from checkpoint");

    const result = await synthesis.run({
      checkpointEvery: payload.checkpointEvery,
      onCheckpoint: (state, progress) => ctx.progress(progress, encodeCheckpoint(state)),
      shouldStop: () => ctx.stopRequested(),
      deadline: ctx.deadline,
    });
    lap("loop");
    if (result.reason === "cancelled") throw new JobLostError(job.id);
    if (result.reason === "deadline") return "yielded";

    // The last iterate is the metamer (science.md §2).
    const x = synthesis.current;
    const finalLoss = await synthesis.evaluateLoss();
    const rendering =
      model.modality === "IMAGE" ? await renderImage(x, model.inputShape, range) : renderAudio(x, model.sampleRate ?? 20_000);
    const metamerOut = await forward.run(x);
    const savedOut = await forward.run(rendering.decoded);
    const label = (logits: Float32Array) => labelOf(model, argmax(logits));
    lap("render");
    const certificate: Certificate = certify({
      naturalActivations: target,
      metamerActivations: metamerOut[stage],
      naturalLabel: label(naturalOut[model.outputName]),
      metamerLabel: label(savedOut[model.outputName]),
      nullStats,
    });

    const tensorBytes = float32Bytes(x);
    const history = [...synthesis.history];
    const progress = { iteration: synthesis.iteration, totalIterations: synthesis.totalIterations, loss: finalLoss };
    await ctx.complete(async (tx) => {
      const tensorBlob = await tx.blobs.put(tensorBytes, "application/x-float32");
      const renderingBlob = await tx.blobs.put(rendering.bytes, rendering.contentType);
      await tx.groups.grantBlob(job.groupId, tensorBlob.sha256);
      await tx.groups.grantBlob(job.groupId, renderingBlob.sha256);
      const metamer = await tx.metamers.create({
        jobId: job.id,
        groupId: job.groupId,
        modelId: model.id,
        stimulusId: stimulus.id,
        stage,
        seed: payload.seed,
        config: payload.config as unknown as Record<string, unknown>,
        history: [...history, { final: true, iteration: synthesis.iteration, loss: finalLoss, stopReason: result.reason }],
        certificate: jsonSafe(certificate) as Record<string, unknown>,
        passed: certificate.passed,
        tensorSha256: tensorBlob.sha256,
        renderingSha256: renderingBlob.sha256,
        sha256: sha256Hex(tensorBytes),
        softwareVersions: { ...this.deps.softwareVersions, modelSha256: model.sha256! },
      });
      // Every compatible model of the group classifies the new metamer, in RECOGNITION jobs (issue 5).
      await enqueueRecognitionForMetamers(tx, [metamer.id]);
    }, progress);
    lap("save");
    ctx.log.debug({ event: "job.timings", timings }, "synthesis job timings");
    return "completed";
  }

  /**
   * The stage's null distribution for the stimulus's set. It exists by now: the job depends on the null job
   * (Job.dependsOnId) and is not claimed before that job succeeded, or the null existed when the job was queued. A
   * metamer is never judged without its null, so a missing one fails the job rather than storing passed = false.
   */
  private async nullFor(ctx: JobContext, modelId: string, payload: SynthesisPayload): Promise<NullDistributionStats> {
    const found = await ctx.store.metamers.findNullDistribution(modelId, payload.setId, payload.stage);
    if (found) return { n: found.n, seed: found.seed, maxima: found.maxima as NullDistributionStats["maxima"], quantiles: found.quantiles as NullDistributionStats["quantiles"] };
    const nullJob = payload.nullJobId ? await ctx.store.jobs.find(payload.nullJobId) : null;
    throw new AppError(
      "NOT_FOUND",
      `job ${ctx.job.id}: no null distribution of stage ${payload.stage} for stimulus set ${payload.setId}` +
        (nullJob ? ` (its null distribution job ${nullJob.id} is ${nullJob.status})` : ""),
    );
  }
}

function labelOf(model: ModelRecord, index: number): string {
  return model.classLabels[index] ?? String(index);
}

/** JSON has no Infinity/NaN: an SNR of identical activations is stored as the string "Infinity". */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)));
}
