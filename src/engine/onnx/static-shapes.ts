// A memory estimate from static shapes, made before any onnxruntime run. onnx's shape inference is not available
// in JavaScript, so this propagates shapes itself through the ops whose output shape follows from input shapes and
// constant inputs: elementwise ops (with broadcasting), ConstantOfShape, Expand, Tile, Reshape, Concat, Pad, Range,
// Resize/Upsample, Shape, Cast, Where. Any other op's outputs are "unknown" and everything computed from them too, so
// the estimate is a lower bound: it catches the cheap bombs (a 123-byte Expand to 20000x20000, a ConstantOfShape of
// 1e12 elements) and the run-time limits of the inspecting process catch the rest (a Loop of 1e12 iterations, shapes
// computed from data).
import { EngineError } from "../errors.js";
import { attrInt, attrTensor } from "./attributes.js";
import type { OnnxModel } from "./model.js";
import { DataType } from "./proto.js";
import { tensorDims } from "./tensor.js";

export interface StaticTensor {
  name: string;
  opType: string;
  shape: number[];
  bytes: number;
}

export interface StaticEstimate {
  /** sum of the bytes of every node output whose shape is known statically */
  totalBytes: number;
  largest: StaticTensor | null;
  /** outputs whose shape could not be derived without running the model */
  unknown: number;
}

const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
  [DataType.INT16]: 2,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.UINT32]: 4,
  [DataType.UINT64]: 8,
  [DataType.BOOL]: 1,
};
const bytesOf = (t: number) => ELEMENT_BYTES[t] ?? 4;

const SAME_SHAPE = new Set([
  "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BatchNormalization", "Ceil", "Celu", "Clip", "Cos", "Cosh",
  "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization",
  "IsInf", "IsNaN", "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "Mish", "Neg", "Not",
  "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus", "Softsign",
  "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Cast", "CastLike", "LRN", "MeanVarianceNormalization",
]);
const BROADCAST = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "PRelu", "BitShift", "Where"]);
const COMPARISON = new Set(["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor"]);
/** value propagation only for small integer tensors (shape arithmetic) */
const MAX_VALUE_ELEMENTS = 64;

function broadcast(shapes: number[][]): number[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) return undefined; // inconsistent: onnxruntime will refuse it
      d = v;
    }
    out.push(d);
  }
  return out;
}

const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
const validDims = (v: number[] | undefined): v is number[] => Array.isArray(v) && v.every((d) => Number.isFinite(d) && d >= 0);

/** Statically known output shapes of the model's nodes and the memory they take together. */
export function estimateStaticTensors(model: OnnxModel): StaticEstimate {
  const shapes = new Map<string, number[]>();
  const types = new Map<string, number>();
  const values = new Map<string, number[]>();
  shapes.set(model.inputName, model.inputShape);
  types.set(model.inputName, DataType.FLOAT);
  for (const [name, t] of model.initializers) {
    shapes.set(name, tensorDims(t));
    types.set(name, t.dataType ?? DataType.FLOAT);
  }
  const valueOf = (name: string): number[] | undefined => {
    if (values.has(name)) return values.get(name);
    const c = model.initializers.has(name) || model.producer.get(name)?.opType === "Constant" ? safeConstant(model, name) : undefined;
    return c;
  };

  let totalBytes = 0;
  let unknown = 0;
  let largest: StaticTensor | null = null;
  for (const node of model.nodes) {
    if (node.domain) {
      unknown += node.outputs.length;
      continue;
    }
    const inShape = (i: number) => (node.inputs[i] ? shapes.get(node.inputs[i]) : undefined);
    const inType = types.get(node.inputs[0] ?? "") ?? DataType.FLOAT;
    let shape: number[] | undefined;
    let type = inType;
    let value: number[] | undefined;
    const op = node.opType;
    if (op === "Constant") {
      const c = constantDims(model, node.outputs[0]);
      shape = c?.dims;
      type = c?.dataType ?? DataType.FLOAT;
    } else if (SAME_SHAPE.has(op)) {
      shape = inShape(0);
      if (op === "Cast") type = attrInt(node.proto, "to", inType);
      if (op === "CastLike") type = types.get(node.inputs[1]) ?? inType;
      if (op === "Identity") value = values.get(node.inputs[0]);
    } else if (BROADCAST.has(op) || COMPARISON.has(op)) {
      const ins = node.inputs.filter(Boolean).map((n) => shapes.get(n));
      if (ins.length && ins.every(validDims)) shape = broadcast(ins as number[][]);
      if (COMPARISON.has(op)) type = DataType.BOOL;
      if (op === "Where") type = types.get(node.inputs[1]) ?? DataType.FLOAT;
    } else if (op === "ConstantOfShape") {
      const dims = valueOf(node.inputs[0]);
      if (validDims(dims)) shape = dims;
      type = attrTensor(node.proto, "value")?.dataType ?? DataType.FLOAT;
    } else if (op === "Expand") {
      const a = inShape(0);
      const b = valueOf(node.inputs[1]);
      if (validDims(a) && validDims(b)) shape = broadcast([a, b]);
    } else if (op === "Tile") {
      const a = inShape(0);
      const r = valueOf(node.inputs[1]);
      if (validDims(a) && validDims(r) && a.length === r.length) shape = a.map((d, i) => d * r[i]);
    } else if (op === "Reshape") {
      const a = inShape(0);
      const target = valueOf(node.inputs[1]);
      if (validDims(a) && target && target.every((d) => Number.isInteger(d) && d >= -1)) {
        const allowZero = attrInt(node.proto, "allowzero", 0) === 1;
        const dims = target.map((d, i) => (d === 0 && !allowZero ? (a[i] ?? 0) : d));
        const known = product(dims.filter((d) => d !== -1));
        const minus = dims.filter((d) => d === -1).length;
        if (minus === 0) shape = dims;
        else if (minus === 1 && known > 0) shape = dims.map((d) => (d === -1 ? Math.floor(product(a) / known) : d));
      }
    } else if (op === "Concat") {
      const ins = node.inputs.filter(Boolean).map((n) => shapes.get(n));
      if (ins.length && ins.every(validDims)) {
        const first = ins[0]!;
        const axis = ((attrInt(node.proto, "axis", 0) % Math.max(1, first.length)) + first.length) % Math.max(1, first.length);
        shape = first.map((d, i) => (i === axis ? ins.reduce((s, x) => s + (x![i] ?? 0), 0) : d));
        const vs = node.inputs.filter(Boolean).map(valueOf);
        if (vs.every((v) => v !== undefined) && first.length === 1) value = vs.flat() as number[];
      }
    } else if (op === "Pad") {
      const a = inShape(0);
      const pads = valueOf(node.inputs[1]);
      if (validDims(a) && pads && pads.length === 2 * a.length) shape = a.map((d, i) => Math.max(0, d + pads[i] + pads[i + a.length]));
    } else if (op === "Range") {
      const [s, l, d] = [valueOf(node.inputs[0]), valueOf(node.inputs[1]), valueOf(node.inputs[2])].map((v) => v?.[0]);
      if (s !== undefined && l !== undefined && d !== undefined && d !== 0) shape = [Math.max(0, Math.ceil((l - s) / d))];
    } else if (op === "Resize" || op === "Upsample") {
      const a = inShape(0);
      const sizes = op === "Resize" ? valueOf(node.inputs[3]) : undefined;
      const scales = op === "Resize" ? valueOf(node.inputs[2]) : valueOf(node.inputs[1]);
      if (validDims(a) && validDims(sizes) && sizes.length === a.length) shape = sizes;
      else if (validDims(a) && scales && scales.length === a.length && scales.every((x) => x > 0)) shape = a.map((d, i) => Math.floor(d * scales[i]));
    } else if (op === "Shape") {
      const a = inShape(0);
      type = DataType.INT64;
      if (a) {
        shape = [a.length];
        const start = attrInt(node.proto, "start", 0);
        const end = attrInt(node.proto, "end", a.length);
        value = a.slice(start, end);
        shape = [value.length];
      }
    }
    const out = node.outputs[0];
    if (!out) continue;
    for (const extra of node.outputs.slice(1)) if (extra) unknown++;
    if (!validDims(shape)) {
      unknown++;
      continue;
    }
    shapes.set(out, shape);
    types.set(out, type);
    if (value && value.length <= MAX_VALUE_ELEMENTS) values.set(out, value);
    const bytes = product(shape) * bytesOf(type);
    totalBytes += bytes;
    if (!largest || bytes > largest.bytes) largest = { name: out, opType: op, shape, bytes };
  }
  return { totalBytes, largest, unknown };
}

function safeConstant(model: OnnxModel, name: string): number[] | undefined {
  try {
    const v = model.constantValue(name);
    if (!v || v.data.length > MAX_VALUE_ELEMENTS) return undefined;
    return Array.from(v.data as ArrayLike<number>, Number);
  } catch {
    return undefined; // an unreadable constant: onnxruntime will say what is wrong with it
  }
}

function constantDims(model: OnnxModel, name: string): { dims: number[]; dataType: number } | undefined {
  try {
    const v = model.constantValue(name);
    return v ? { dims: v.dims, dataType: v.dataType } : undefined;
  } catch {
    return undefined;
  }
}

const MiB = 1024 * 1024;
const mib = (b: number) => (b >= 1e15 ? `${b.toExponential(2)} bytes` : `${Math.ceil(b / MiB)} MiB`);

/**
 * UNSUPPORTED_MODEL when the statically known intermediate tensors alone would take more than `budgetBytes` (shape
 * discovery keeps every tensor as an output, so they are all alive at once).
 */
export function checkStaticMemory(model: OnnxModel, budgetBytes: number): StaticEstimate {
  const estimate = estimateStaticTensors(model);
  if (estimate.totalBytes > budgetBytes) {
    const l = estimate.largest!;
    throw new EngineError(
      "UNSUPPORTED_MODEL",
      `the model's intermediate tensors would take at least ${mib(estimate.totalBytes)} (largest: '${l.name}' from ${l.opType}, ` +
        `shape [${l.shape.join(", ")}], ${mib(l.bytes)}); the memory budget for inspecting a model is ${mib(budgetBytes)}`,
      { staticBytes: estimate.totalBytes, budgetBytes },
    );
  }
  return estimate;
}
