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

/** A certificate, or the reason none could be judged against a null (the set's null job failed). */
export type StoredCertificate = Certificate | (Omit<Certificate, "null"> & { null: null; nullUnavailable: string });

export interface SynthesisJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
  softwareVersions: Record<string, string>;
  /** How often to look for the null distribution while it is still being computed. */
  nullPollMs?: number;
  /** Give up waiting for the null after this long (the certificate then records why it has none). */
  nullWaitMs?: number;
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
          initialNoise(natural.length, { modality: model.modality, range, seed: payload.seed, stimulusId: stimulus.id }),
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
    const nullStats = await this.waitForNull(ctx, model.id, payload);
    lap("null");
    const base = {
      naturalActivations: target,
      metamerActivations: metamerOut[stage],
      naturalLabel: label(naturalOut[model.outputName]),
      metamerLabel: label(savedOut[model.outputName]),
    };
    const certificate: StoredCertificate =
      typeof nullStats === "string"
        ? { ...certify({ ...base, nullStats: EMPTY_NULL }), null: null, passedNull: false, passed: false, nullUnavailable: nullStats }
        : certify({ ...base, nullStats });

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

  /** The stage's null distribution for the stimulus's set; waits while its job runs. A string says why there is none. */
  private async waitForNull(ctx: JobContext, modelId: string, payload: SynthesisPayload): Promise<NullDistributionStats | string> {
    const pollMs = this.deps.nullPollMs ?? 250;
    const giveUpAt = Date.now() + (this.deps.nullWaitMs ?? 10 * 60_000);
    for (;;) {
      const found = await ctx.store.metamers.findNullDistribution(modelId, payload.setId, payload.stage);
      if (found) return { n: found.n, seed: found.seed, maxima: found.maxima as NullDistributionStats["maxima"], quantiles: found.quantiles as NullDistributionStats["quantiles"] };
      const nullJob = payload.nullJobId ? await ctx.store.jobs.find(payload.nullJobId) : null;
      if (!nullJob || nullJob.status === "FAILED" || nullJob.status === "CANCELLED" || nullJob.status === "SUCCEEDED") {
        return nullJob?.errorMessage
          ? `the null distribution job failed: ${nullJob.errorMessage}`
          : "no null distribution exists for this stage and stimulus set";
      }
      if (ctx.stopRequested()) throw new JobLostError(ctx.job.id);
      if (Date.now() > giveUpAt) return `the null distribution job ${nullJob.id} was still ${nullJob.status} when this job gave up waiting`;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

const EMPTY_NULL: NullDistributionStats = { n: 0, seed: 0, maxima: { spearman: Infinity, pearson: Infinity, snr: Infinity }, quantiles: { spearman: {}, pearson: {}, snr: {} } };

function labelOf(model: ModelRecord, index: number): string {
  return model.classLabels[index] ?? String(index);
}

/** JSON has no Infinity/NaN: an SNR of identical activations is stored as the string "Infinity". */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)));
}
