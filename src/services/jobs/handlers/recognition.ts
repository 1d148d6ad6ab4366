import { decodeRendering, forcedChoice, type EngineSessionCache } from "../../../engine/index.js";
import { AppError } from "../../../errors.js";
import type { NewRecognition, PendingMetamer, PendingStimulus } from "../../../store/recognition.js";
import type { StimulusService } from "../../stimuli.js";
import { readPayload } from "../payloads.js";
import type { JobContext, JobHandler, JobOutcome } from "../queue.js";

/** Inputs per inference call. */
const BATCH = 32;

export interface RecognitionJobDeps {
  stimuli: StimulusService;
  sessions: EngineSessionCache;
}

/**
 * Runs a RECOGNITION job: batched inference of the recognizer, rows written once. A metamer is classified as a person
 * sees it (issue 12 item 4, as the authors reload the saved PNG/WAV): its saved rendering decoded back to values and
 * rescaled linearly from the generator's declared input range to the recognizer's. Decisions are scored in the
 * recognizer's label space (forcedChoice with its label map; the target was mapped by the SQL, store/recognition.ts).
 */
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
      const labelMap = await store.labelMaps.forModel(recognizer.id);
      const itemSize = recognizer.inputShape.slice(1).reduce((a, b) => a * b, 1);
      const sameItemShape = (shape: number[]) => shape.slice(1).join("x") === recognizer.inputShape.slice(1).join("x");
      const label = (logits: Float32Array) => forcedChoice(logits, recognizer.classLabels, labelMap?.classToCategory);

      type Item = { metamer?: PendingMetamer; stimulus?: PendingStimulus };
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
          // null only for a map without any of the model's classes, which attaching a map refuses
          const predicted = label(logits.subarray(i * classes, (i + 1) * classes)) ?? "";
          const truth = item.metamer?.label ?? item.stimulus!.truth;
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

  private async input(ctx: JobContext, item: { metamer?: PendingMetamer; stimulus?: PendingStimulus }, recognizer: { inputShape: number[]; inputRange: number[]; sampleRate: number | null }): Promise<Float32Array> {
    if (item.metamer) {
      const m = item.metamer;
      const bytes = await ctx.store.blobs.get(m.renderingSha256);
      if (!bytes) throw new AppError("NOT_FOUND", `metamer ${m.id}: rendering blob ${m.renderingSha256} is missing`);
      const from = m.inputRange as [number, number];
      const values = await decodeRendering(bytes, m.modality === "AUDIO" ? "audio/wav" : "image/png", from);
      return rescale(values, from, recognizer.inputRange as [number, number]);
    }
    return this.deps.stimuli.inputTensor(item.stimulus!, {
      shape: recognizer.inputShape,
      inputRange: recognizer.inputRange as [number, number],
      sampleRate: recognizer.sampleRate,
      rms: null,
    });
  }
}


/**
 * Maps values linearly from the generator's declared input range onto the recognizer's (the same picture or sound in
 * the recognizer's units: a [0, 1] image becomes [0, 255] or [-1, 1]); a copy-free no-op when the ranges are equal.
 */
export function rescale(values: Float32Array, from: readonly [number, number], to: readonly [number, number]): Float32Array {
  if (from[0] === to[0] && from[1] === to[1]) return values;
  const scale = (to[1] - to[0]) / (from[1] - from[0]);
  for (let i = 0; i < values.length; i++) values[i] = to[0] + (values[i] - from[0]) * scale;
  return values;
}
