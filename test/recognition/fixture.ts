// Small real ONNX classifiers and metamers stored as the synthesis worker stores them (float tensor + PNG rendering),
// for the rendered-recognition and label-map tests.
import onnxProto from "onnx-proto";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { EngineSessionCache } from "../../src/engine/index.js";
import { renderImage } from "../../src/engine/media/index.js";
import { SeededRandom } from "../../src/engine/random.js";
import { createLogger } from "../../src/logger.js";
import { RecognitionJobHandler } from "../../src/services/jobs/handlers/recognition.js";
import { JobHandlerRegistry, JobQueue } from "../../src/services/jobs/queue.js";
import { StimulusService } from "../../src/services/stimuli.js";
import { UploadService } from "../../src/services/uploads.js";
import type { ModelRecord } from "../../src/store/models.js";
import type { Store } from "../../src/store/store.js";

const { onnx } = onnxProto;
export const SHAPE = [1, 3, 8, 8];
export const D = 3 * 8 * 8;

export interface Classifier {
  bytes: Uint8Array;
  w: Float32Array;
  b: Float32Array;
  classes: number;
}

/** logits = W x + b as a real ONNX graph (Flatten -> Gemm), W and b from a seeded generator. */
export function linearClassifier(seed: number, classes: number, biasSd = 0.1): Classifier {
  const rng = new SeededRandom(seed);
  const w = rng.fillNormal(new Float32Array(classes * D)) as Float32Array;
  const b = rng.fillNormal(new Float32Array(classes), 0, biasSd) as Float32Array;
  const tensor = (name: string, dims: number[], data: Float32Array) =>
    onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(0)) });
  const info = (name: string, dims: number[]) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "recognition-fixture",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "linear",
      input: [info("x", SHAPE)],
      output: [info("logits", [1, classes])],
      initializer: [tensor("W", [classes, D], w), tensor("B", [classes], b)],
      node: [
        { opType: "Flatten", input: ["x"], output: ["flat"], name: "flatten", attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: "Gemm", input: ["flat", "W", "B"], output: ["logits"], name: "gemm", attribute: [{ name: "transB", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      ],
    },
  }).finish();
  return { bytes, w, b, classes };
}

/** The classifier's logits in plain JavaScript (float64): the reference onnxruntime's decisions are checked against. */
export function referenceLogits(c: Classifier, x: ArrayLike<number>): number[] {
  return Array.from({ length: c.classes }, (_, k) => {
    let s = c.b[k];
    for (let i = 0; i < D; i++) s += c.w[k * D + i] * x[i];
    return s;
  });
}

export function registerModel(store: Store, groupId: string, name: string, c: Classifier, options: { labels: string[]; range?: [number, number] }): Promise<ModelRecord> {
  return store.transaction(async (tx) => {
    const blob = await tx.blobs.put(c.bytes, "application/onnx");
    return tx.models.create(
      {
        groupId, name, modality: "IMAGE", sha256: blob.sha256, byteSize: c.bytes.length, opset: 17, inputName: "x",
        inputShape: SHAPE, inputRange: options.range ?? [0, 1], sampleRate: null, outputName: "logits", classLabels: options.labels,
        training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
      },
      [{ name: "logits", label: "final", shape: [1, c.classes], producerOp: "Gemm", order: 0, differentiable: true, unsupportedOps: [] }],
    );
  });
}

export const bytesOf = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

export interface StoredMetamer {
  id: string;
  /** the float iterate (the tensor blob) */
  iterate: Float32Array;
  /** the saved PNG's values decoded back in the generator's range */
  rendered: Float32Array;
  label: string;
}

/**
 * Validated metamers of `generator` stored as synthesis stores them: a float tensor blob and its 8-bit PNG rendering. The
 * iterate and the rendering differ on purpose when `renderOther` is set (the rendering shows another image), so a
 * recognizer that classified the iterate would give other answers.
 */
export async function storeMetamers(
  store: Store,
  generator: ModelRecord,
  stimuli: { id: string; label: string }[],
  options: { seed: number; count: number; renderOther?: boolean },
): Promise<StoredMetamer[]> {
  const rng = new SeededRandom(options.seed);
  const range = generator.inputRange as [number, number];
  const draw = () => Float32Array.from({ length: D }, () => range[0] + rng.next() * (range[1] - range[0]));
  const jobs = await store.jobs.enqueue(Array.from({ length: options.count }, () => ({ kind: "SYNTHESIS" as const, groupId: generator.groupId })));
  const out: StoredMetamer[] = [];
  for (let i = 0; i < options.count; i++) {
    const iterate = draw();
    const shown = options.renderOther ? draw() : iterate;
    const rendering = await renderImage(shown, SHAPE, range);
    const stimulus = stimuli[i % stimuli.length];
    const m = await store.transaction(async (tx) => {
      const tensorBlob = await tx.blobs.put(bytesOf(iterate), "application/x-float32");
      const renderingBlob = await tx.blobs.put(rendering.bytes, rendering.contentType);
      return tx.metamers.create({
        jobId: jobs[i].id, groupId: generator.groupId, modelId: generator.id, stimulusId: stimulus.id, stage: "logits", seed: i,
        config: {}, history: [], certificate: {}, passed: true, tensorSha256: tensorBlob.sha256, renderingSha256: renderingBlob.sha256,
        sha256: tensorBlob.sha256, softwareVersions: {},
      });
    });
    out.push({ id: m.id, iterate, rendered: rendering.decoded, label: stimulus.label });
  }
  return out;
}

/** A stimulus set of float32 tensors (one per label, cycling), `count` stimuli. */
export async function storeStimuli(store: Store, groupId: string, labels: string[], count: number, seed: number, range: [number, number] = [0, 1]) {
  const rng = new SeededRandom(seed);
  const set = await store.stimuli.createSet({ groupId, name: `set-${seed}`, modality: "IMAGE", classLabels: labels, sampleRate: null });
  const tensors = Array.from({ length: count }, () => Float32Array.from({ length: D }, () => range[0] + rng.next() * (range[1] - range[0])));
  const stimuli = await store.transaction(async (tx) => {
    const items = [];
    for (let i = 0; i < count; i++) {
      const blob = await tx.blobs.put(bytesOf(tensors[i]), "application/x-float32");
      items.push({
        label: labels[i % labels.length], filename: `s${i}.f32`, contentType: "application/x-float32", sha256: blob.sha256,
        tensors: [{ shapeKey: SHAPE.join("x"), shape: SHAPE, blobSha256: blob.sha256 }],
      });
    }
    return tx.stimuli.addStimuli(set, items);
  });
  return { set, stimuli, tensors };
}

/** Runs every queued RECOGNITION job with a real handler (onnxruntime); returns how many ran. */
export async function drainRecognition(store: Store): Promise<number> {
  const uploads = new UploadService(store, DEFAULT_LIMITS, 3600, () => "");
  const handler = new RecognitionJobHandler({ stimuli: new StimulusService(store, DEFAULT_LIMITS, uploads), sessions: new EngineSessionCache() });
  const queue = new JobQueue(store, new JobHandlerRegistry().register("RECOGNITION", handler), createLogger("silent"), { owner: "test", leaseMs: 30_000 });
  let ran = 0;
  while (await queue.runOne()) ran++;
  return ran;
}

/** The stored recognitions of a recognizer: metamer or stimulus id -> its row. */
export async function recognitionsOf(store: Store, recognizerId: string) {
  const rows = await store.recognition.rowsFor(recognizerId);
  return new Map(rows.map((r) => [r.metamerId ?? r.stimulusId!, r]));
}
