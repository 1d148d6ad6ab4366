import {
  forcedChoice,
  certify,
  decodeCheckpoint,
  encodeCheckpoint,
  float32Bytes,
  initialNoise,
  MetamerSynthesis,
  renderAudio,
  renderImage,
  type Certificate,
  type EngineSessionCache,
  type ForwardSession,
  type NullDistributionStats,
  type NullSource,
  type Rendering,
  type StopReason,
} from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import { sha256Hex } from "../../../store/blob-store.js";
import type { ModelRecord } from "../../../store/models.js";
import type { StimulusRecord } from "../../../store/stimuli.js";
import { enqueueRecognitionForMetamers } from "../../recognition.js";
import type { StimulusService } from "../../stimuli.js";
import { configJson, readPayload, type SynthesisPayload } from "../payloads.js";
import { JobLostError, type JobContext, type JobHandler, type JobOutcome } from "../queue.js";
import { jsonSafe } from "./json-safe.js";

export interface SynthesisJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
  softwareVersions: Record<string, string>;
}

/** Everything a job's loop and its verdict need, loaded once per attempt. */
interface Setup {
  payload: SynthesisPayload;
  /** A runnable model: it has an ONNX file and an output (logits) tensor. */
  model: ModelRecord & { sha256: string; outputName: string };
  stimulus: StimulusRecord;
  nullStats: NullDistributionStats;
  /** Where nullStats came from, as the certificate records it. */
  nullSource: NullSource;
  range: [number, number];
  /** The stage and the logits, for the natural stimulus, the metamer and its saved rendering. */
  forward: ForwardSession;
  natural: Float32Array;
  /** Forward outputs of the natural stimulus (the stage's activations are the loop's target). */
  naturalOut: Record<string, Float32Array>;
  /** The model's label map (issue 12 item 5): the label check compares decisions in its categories. */
  classToCategory: Record<string, string> | null;
}

/** The metamer as it will be stored: the last iterate, its saved rendering and the validation verdict. */
interface Verdict {
  x: Float32Array;
  finalLoss: number;
  rendering: Rendering;
  certificate: Certificate;
}

/**
 * Runs one SYNTHESIS job: target activations of the natural stimulus, the loop from the seeded noise (or the last
 * checkpoint), then the saved rendering, the certificate, and the Metamer row, written in the same transaction
 * that marks the job SUCCEEDED (so a job yields at most one metamer).
 */
export class SynthesisJobHandler implements JobHandler {
  constructor(private readonly deps: SynthesisJobDeps) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    // Phase timings (ms) go to the log: where a job's time went, without a profiler.
    const timings = phaseTimer();
    const setup = await this.setUp(ctx);
    const synthesis = await this.startOrResume(ctx, setup);
    timings.lap("setup");
    const result = await synthesis.run({
      checkpointEvery: setup.payload.checkpointEvery,
      onCheckpoint: (state, progress) => ctx.progress(progress, encodeCheckpoint(state)),
      // Steps, total and loss as the job runs: kept in memory, written with the lease's renewals (queue.ts).
      onProgress: (progress, roundEnd) => ctx.report(progress, { flush: roundEnd }),
      shouldStop: () => ctx.stopRequested(),
      deadline: ctx.deadline,
    });
    timings.lap("loop");
    if (result.reason === "cancelled") throw new JobLostError(ctx.job.id);
    if (result.reason === "deadline") return "yielded";
    const verdict = await this.judge(setup, synthesis);
    timings.lap("render");
    await this.save(ctx, setup, synthesis, result.reason, verdict);
    timings.lap("save");
    ctx.log.debug({ event: "job.timings", timings: timings.all }, "synthesis job timings");
    return "completed";
  }

  /** The job's rows (model, stimulus, null distribution) and the natural stimulus's forward pass. */
  private async setUp(ctx: JobContext): Promise<Setup> {
    const { job, store } = ctx;
    const payload = readPayload(job, "SYNTHESIS");
    const model = await store.models.findById(job.modelId!);
    if (!model?.sha256 || !model.outputName) throw new AppError("NOT_FOUND", `job ${job.id}: its model is gone or has no ONNX file`);
    const stimulus = await store.stimuli.findStimulus(job.groupId, job.stimulusId!);
    if (!stimulus) throw new AppError("NOT_FOUND", `job ${job.id}: its stimulus ${job.stimulusId} is gone`);
    // Before any work: a job without its null distribution fails at once instead of after its whole loop.
    const { stats: nullStats, source: nullSource } = await this.nullFor(ctx, model.id, payload);
    const range = model.inputRange as [number, number];
    const runnable = { ...model, sha256: model.sha256, outputName: model.outputName };
    const outputs = payload.stage === model.outputName ? [payload.stage] : [payload.stage, model.outputName];
    const forward = await this.deps.sessions.forward(model.sha256, () => this.modelBytes(ctx, runnable), outputs);
    const natural = await this.deps.stimuli.inputTensor(stimulus, { shape: model.inputShape, inputRange: range, sampleRate: model.sampleRate, rms: null });
    const naturalOut = await forward.run(natural);
    const classToCategory = (await store.labelMaps.forModel(model.id))?.classToCategory ?? null;
    return { payload, model: runnable, stimulus, nullStats, nullSource, range, forward, natural, naturalOut, classToCategory };
  }

  /** The loop from the last checkpoint, or from the seeded noise on a first attempt. */
  private async startOrResume(ctx: JobContext, setup: Setup): Promise<MetamerSynthesis> {
    const { payload, model, stimulus, range, natural } = setup;
    const gradient = await this.deps.sessions.gradient(model.sha256, () => this.modelBytes(ctx, model), payload.stage, {
      fakeRelu: payload.fakeRelu,
      loss: payload.config.recipe === "ADAM_RANGE_PENALTY" ? payload.config.loss : "normalizedL2",
    });
    const loop = { gradient, target: setup.naturalOut[payload.stage], config: payload.config, range };
    const saved = await ctx.loadCheckpoint();
    if (saved) {
      const synthesis = MetamerSynthesis.resume(loop, decodeCheckpoint(saved));
      ctx.log.info({ event: "job.resumed", iteration: synthesis.iteration }, "resuming from checkpoint");
      return synthesis;
    }
    // Keyed by the stimulus's content (sha256), not its row id: a random UUID made the "seeded" start differ on every
    // database, so the same file, model, stage, config and seed gave another metamer on each hub.
    return MetamerSynthesis.start(
      loop,
      initialNoise(natural.length, { modality: model.modality, range, seed: payload.seed, stimulusId: stimulus.sha256 }),
    );
  }

  /**
   * The last iterate is the metamer. It is saved as observers will see it (8-bit PNG, float WAV), and the label check
   * runs on that saved rendering; the stage match on the iterate itself.
   */
  private async judge(setup: Setup, synthesis: MetamerSynthesis): Promise<Verdict> {
    const { model, forward, payload, range } = setup;
    const x = synthesis.current;
    const finalLoss = await synthesis.evaluateLoss();
    const rendering = model.modality === "IMAGE" ? await renderImage(x, model.inputShape, range) : renderAudio(x, model.sampleRate ?? 20_000);
    const metamerOut = await forward.run(x);
    const savedOut = await forward.run(rendering.decoded);
    // The decision in the model's scored label space: its class, or with a label map the category (force_16_choice).
    const label = (logits: Float32Array) => forcedChoice(logits, model.classLabels, setup.classToCategory) ?? "";
    const certificate = certify({
      naturalActivations: setup.naturalOut[payload.stage],
      metamerActivations: metamerOut[payload.stage],
      naturalLabel: label(setup.naturalOut[model.outputName]),
      metamerLabel: label(savedOut[model.outputName]),
      nullStats: setup.nullStats,
      nullSource: setup.nullSource,
      fromSynthesisSet: setup.nullSource.setId === setup.stimulus.setId,
    });
    return { x, finalLoss, rendering, certificate };
  }

  /** The blobs and the Metamer row, in the transaction that marks the job SUCCEEDED; then its recognition jobs. */
  private async save(ctx: JobContext, setup: Setup, synthesis: MetamerSynthesis, stopReason: StopReason, verdict: Verdict): Promise<void> {
    const { job } = ctx;
    const { payload, model, stimulus } = setup;
    const { finalLoss, rendering, certificate } = verdict;
    const tensorBytes = float32Bytes(verdict.x);
    const history = [...synthesis.history, { final: true, iteration: synthesis.iteration, loss: finalLoss, stopReason }];
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
        stage: payload.stage,
        seed: payload.seed,
        config: configJson(payload.config),
        history,
        certificate: jsonSafe(certificate) as Record<string, unknown>,
        passed: certificate.passed,
        tensorSha256: tensorBlob.sha256,
        renderingSha256: renderingBlob.sha256,
        sha256: sha256Hex(tensorBytes),
        softwareVersions: { ...this.deps.softwareVersions, modelSha256: model.sha256 },
      });
      // Every compatible model of the group classifies the new metamer, in RECOGNITION jobs.
      await enqueueRecognitionForMetamers(tx, [metamer.id]);
    }, progress);
  }

  private async modelBytes(ctx: JobContext, model: { name: string; sha256: string }): Promise<Uint8Array> {
    const bytes = await ctx.store.blobs.get(model.sha256);
    if (!bytes) throw new AppError("NOT_FOUND", `model ${model.name}: ONNX blob ${model.sha256} is missing`);
    return bytes;
  }

  /**
   * The stage's null distribution for the stimulus's set. It exists by now: the job depends on the null job
   * (Job.dependsOnId) and is not claimed before that job succeeded, or the null existed when the job was queued. A
   * metamer is never judged without its null, so a missing one fails the job rather than storing passed = false.
   */
  private async nullFor(ctx: JobContext, modelId: string, payload: SynthesisPayload): Promise<{ stats: NullDistributionStats; source: NullSource }> {
    if (payload.referenceNullId) return this.referenceNullFor(ctx, payload.referenceNullId);
    const found = await ctx.store.metamers.findNullDistribution(modelId, payload.setId, payload.stage);
    if (found) {
      return {
        stats: { n: found.n, seed: found.seed, maxima: numbers(found.maxima) as NullDistributionStats["maxima"], quantiles: found.quantiles as NullDistributionStats["quantiles"] },
        source: { kind: "SYNTHESIS_SET", referenceNullId: null, setId: payload.setId, augmentation: null, n: found.n, seed: found.seed },
      };
    }
    const nullJob = payload.nullJobId ? await ctx.store.jobs.find(payload.nullJobId) : null;
    throw new AppError(
      "NOT_FOUND",
      `job ${ctx.job.id}: no null distribution of stage ${payload.stage} for stimulus set ${payload.setId}` +
        (nullJob ? ` (its null distribution job ${nullJob.id} is ${nullJob.status})` : ""),
    );
  }

  /** A model-level reference null (reference-nulls.ts); computed by now for the same reason as above. */
  private async referenceNullFor(ctx: JobContext, id: string): Promise<{ stats: NullDistributionStats; source: NullSource }> {
    const row = await ctx.store.nulls.find(id);
    if (!row || row.measured === null || !row.maxima || !row.quantiles) {
      const nullJob = row?.jobId ? await ctx.store.jobs.find(row.jobId) : null;
      throw new AppError(
        "NOT_FOUND",
        `job ${ctx.job.id}: reference null ${id} has not been computed` + (nullJob ? ` (its job ${nullJob.id} is ${nullJob.status})` : ""),
      );
    }
    return {
      stats: { n: row.measured, seed: row.seed, maxima: numbers(row.maxima) as NullDistributionStats["maxima"], quantiles: row.quantiles as NullDistributionStats["quantiles"] },
      source: { kind: "REFERENCE", referenceNullId: row.id, setId: row.setId, augmentation: row.augmentation as NullSource["augmentation"], n: row.n, seed: row.seed },
    };
  }
}

/** Stored maxima hold "Infinity" as a string (json-safe.ts); back to numbers for the verdict. */
function numbers(values: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)]));
}

/** Milliseconds per named phase, measured from the previous lap (one decimal). */
function phaseTimer(): { lap(name: string): void; all: Record<string, number> } {
  const all: Record<string, number> = {};
  let mark = performance.now();
  return {
    all,
    lap(name) {
      const now = performance.now();
      all[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
    },
  };
}