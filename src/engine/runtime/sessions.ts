// GradientSession (loss + input gradient per run) and ForwardSession (plain inference). Built graphs and ORT
// sessions are shared per (model sha256, stage, options) and reference-counted, so many synthesis jobs on one model
// and stage load it once.
import { createHash } from "node:crypto";
import { EngineError } from "../errors.js";
import { buildGradientGraph, GRADIENT_IO, type GradientGraph, type LossKind } from "../autodiff/backward.js";
import { isLossKind } from "../autodiff/losses.js";
import { decodeOnnxModel } from "../onnx/model.js";
import { onnx } from "../onnx/proto.js";
import { elementCount } from "../onnx/tensor.js";
import { createSession, floatTensor, runSession, type OrtSession, type OrtTensor } from "./ort.js";
import { probeModel } from "./probe.js";

export interface GradientOptions {
  fakeRelu?: boolean;
  loss?: LossKind;
  outputActivations?: boolean;
  outputLogits?: boolean;
  /** ORT intra-op threads (default 2) */
  threads?: number;
}

export interface GradientResult {
  loss: number;
  grad: Float32Array;
  activations?: Float32Array;
  logits?: Float32Array;
}

interface SharedGradient {
  session: OrtSession;
  /** the graph's metadata; its bytes are dropped once loaded (tens of MB for a large model) */
  graph: Omit<GradientGraph, "bytes">;
  refs: number;
}

const gradientCache = new Map<string, Promise<SharedGradient>>();

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function checkLength(what: string, data: Float32Array, shape: number[]): void {
  if (!(data instanceof Float32Array)) throw new EngineError("INVALID_ARGUMENT", `${what}: expected a Float32Array, got ${Object.prototype.toString.call(data)}`);
  const n = elementCount(shape);
  if (data.length !== n) {
    throw new EngineError("INVALID_ARGUMENT", `${what}: expected ${n} float32 values (shape [${shape.join(", ")}]), got ${data.length}`);
  }
}

export class GradientSession {
  private lastCheckedTarget: Float32Array | null = null;
  private released = false;

  private constructor(
    private readonly key: string,
    private readonly shared: SharedGradient,
    private readonly options: GradientOptions,
  ) {}

  /** Builds (or reuses) the gradient graph of `stage` (a tensor name) and its ORT session. */
  static async create(modelBytes: Uint8Array, stage: string, options: GradientOptions = {}): Promise<GradientSession> {
    const normalized: GradientOptions = {
      fakeRelu: options.fakeRelu ?? false,
      loss: options.loss ?? "normalizedL2",
      outputActivations: options.outputActivations ?? false,
      outputLogits: options.outputLogits ?? false,
      threads: options.threads ?? 2,
    };
    if (!isLossKind(normalized.loss)) {
      throw new EngineError("INVALID_ARGUMENT", `loss: expected "normalizedL2", "mse" or "crossEntropy", got ${JSON.stringify(options.loss)}`);
    }
    if (!Number.isInteger(normalized.threads) || normalized.threads! < 1) {
      throw new EngineError("INVALID_ARGUMENT", `threads: expected a positive integer, got ${JSON.stringify(options.threads)}`);
    }
    const key = `${sha256Hex(modelBytes)}|${stage}|${JSON.stringify(normalized)}`;
    let p = gradientCache.get(key);
    if (!p) {
      p = (async () => {
        const model = decodeOnnxModel(modelBytes);
        const probe = await probeModel(model);
        const { bytes, ...graph } = buildGradientGraph(model, probe, stage, normalized);
        const session = await createSession(bytes, normalized.threads!);
        return { session, graph, refs: 0 };
      })();
      gradientCache.set(key, p);
      p.catch(() => gradientCache.delete(key));
    }
    const shared = await p;
    shared.refs++;
    return new GradientSession(key, shared, normalized);
  }

  get inputShape(): number[] {
    return this.shared.graph.inputShape;
  }
  get stageShape(): number[] {
    return this.shared.graph.stageShape;
  }
  get logitsShape(): number[] | undefined {
    return this.shared.graph.logitsShape;
  }
  /** nodes in the emitted gradient model */
  get graphNodeCount(): number {
    return this.shared.graph.nodeCount;
  }

  /** distinct gradient graphs currently loaded (shared between handles) */
  static loadedGraphs(): number {
    return gradientCache.size;
  }

  /**
   * One gradient step. `into.grad` (optional, prod(inputShape) floats) receives the gradient in place (ORT writes
   * it directly, saving an allocation per step); the result's `grad` is then that same array.
   */
  async run(x: Float32Array, target: Float32Array, into: { grad?: Float32Array } = {}): Promise<GradientResult> {
    if (this.released) throw new EngineError("INVALID_ARGUMENT", "this GradientSession was released");
    checkLength("x", x, this.inputShape);
    checkLength("target", target, this.stageShape);
    if (this.options.loss === "normalizedL2" && this.lastCheckedTarget !== target) {
      let s = 0;
      for (let i = 0; i < target.length; i++) s += target[i] * target[i];
      if (!(s > 0) || !Number.isFinite(s)) {
        throw new EngineError("INVALID_ARGUMENT", `target: the normalised L2 loss divides by ||target||, which must be a positive finite number; got ${Math.sqrt(s)}`);
      }
      this.lastCheckedTarget = target;
    }
    if (this.options.loss === "crossEntropy" && this.lastCheckedTarget !== target) {
      // a label distribution: non-negative finite weights (a one-hot row for a class label)
      const bad = target.findIndex((v) => !(v >= 0) || !Number.isFinite(v));
      if (bad >= 0) {
        throw new EngineError("INVALID_ARGUMENT", `target: the cross-entropy loss expects label weights >= 0 (a one-hot row per example); value ${bad} is ${target[bad]}`);
      }
      this.lastCheckedTarget = target;
    }
    const feeds = { [GRADIENT_IO.x]: floatTensor(x, this.inputShape), [GRADIENT_IO.target]: floatTensor(target, this.stageShape) };
    let out: Record<string, OrtTensor>;
    if (into.grad) {
      checkLength("into.grad", into.grad, this.inputShape);
      const fetches: Record<string, OrtTensor | null> = { [GRADIENT_IO.loss]: null, [GRADIENT_IO.grad]: floatTensor(into.grad, this.inputShape) };
      if (this.options.outputActivations) fetches[GRADIENT_IO.activations] = null;
      if (this.options.outputLogits) fetches[GRADIENT_IO.logits] = null;
      out = await runSession(this.shared.session, feeds, fetches);
    } else out = await runSession(this.shared.session, feeds);
    const read = (name: string): Float32Array | undefined => (out[name] ? (out[name].data as Float32Array) : undefined);
    return {
      loss: read(GRADIENT_IO.loss)![0],
      grad: into.grad ?? read(GRADIENT_IO.grad)!,
      activations: read(GRADIENT_IO.activations),
      logits: read(GRADIENT_IO.logits),
    };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (--this.shared.refs === 0) {
      gradientCache.delete(this.key);
      await this.shared.session.release();
    }
  }
}

export class ForwardSession {
  private constructor(
    private readonly session: OrtSession,
    private readonly inputName: string,
    readonly inputShape: number[],
    readonly outputNames: string[],
  ) {}

  /** `outputs`: tensor names to return (default: the model's graph outputs). */
  static async create(modelBytes: Uint8Array, outputs?: string[], options: { threads?: number } = {}): Promise<ForwardSession> {
    const model = decodeOnnxModel(modelBytes);
    // onnxruntime gets the checked proto re-encoded, never the caller's bytes: fields this onnx-proto version does
    // not know (and so could not check for external data) are dropped on decode.
    let bytes = onnx.ModelProto.encode(model.proto).finish();
    const names = outputs ?? model.outputNames;
    if (outputs) {
      const unknown = outputs.filter((o) => !model.producer.has(o) && o !== model.inputName);
      if (unknown.length) {
        throw new EngineError("INVALID_ARGUMENT", `outputs: expected tensor names of the model; not found: ${unknown.map((u) => `'${u}'`).join(", ")}`);
      }
      const proto = onnx.ModelProto.create({
        ...model.proto,
        graph: onnx.GraphProto.create({ ...model.proto.graph!, output: outputs.map((name) => onnx.ValueInfoProto.create({ name })) }),
      });
      bytes = onnx.ModelProto.encode(proto).finish();
    }
    const session = await createSession(bytes, options.threads ?? 2);
    return new ForwardSession(session, model.inputName, model.inputShape, names);
  }

  /** One input, or several stacked along dim 0 (run one at a time when the model's batch size is fixed). */
  async run(x: Float32Array): Promise<Record<string, Float32Array>> {
    const n = elementCount(this.inputShape);
    if (!(x instanceof Float32Array) || x.length === 0 || x.length % n !== 0) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `x: expected a Float32Array of ${n} values (shape [${this.inputShape.join(", ")}]) or a multiple of ${n} for a batch; got ${x?.length}`,
      );
    }
    const chunks = x.length / n;
    const parts: Record<string, Float32Array[]> = Object.fromEntries(this.outputNames.map((o) => [o, []]));
    for (let k = 0; k < chunks; k++) {
      const slice = chunks === 1 ? x : x.subarray(k * n, (k + 1) * n);
      const out = await runSession(this.session, { [this.inputName]: floatTensor(slice, this.inputShape) });
      for (const o of this.outputNames) {
        const d = out[o].data;
        // float outputs are fresh ORT buffers already; integer ones (e.g. int64) are converted
        parts[o].push(d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number | bigint>, Number));
      }
    }
    const result: Record<string, Float32Array> = {};
    for (const o of this.outputNames) {
      const list = parts[o];
      if (list.length === 1) result[o] = list[0];
      else {
        const all = new Float32Array(list.reduce((s, a) => s + a.length, 0));
        let off = 0;
        for (const a of list) (all.set(a, off), (off += a.length));
        result[o] = all;
      }
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
