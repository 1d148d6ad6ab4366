import { argmax, type EngineSessionCache } from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import type { NewRecognition, PendingMetamer } from "../../../store/recognition.js";
import type { StimulusRecord } from "../../../store/stimuli.js";
import type { StimulusService } from "../../stimuli.js";
import { readPayload } from "../payloads.js";
import type { JobContext, JobHandler, JobOutcome } from "../queue.js";

/** Inputs per inference call. */
const BATCH = 32;

export interface RecognitionJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
}

/** Runs a RECOGNITION job: batched inference of the recognizer, labels matched by name, rows written once. */
export class RecognitionJobHandler implements JobHandler {
  constructor(private readonly deps: RecognitionJobDeps) {}

  async run(ctx: JobContext): Promise<JobOutcome> {
    const { job, store } = ctx;
    const payload = readPayload(job, "RECOGNITION");
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

