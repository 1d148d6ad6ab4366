// Finite-difference check of every VJP rule: a table with at least one row per registered op (a parity test
// fails when a rule has no row). Each row is a tiny model x -> ... -> y; the engine's gradient of
// L = mean((y - t)^2) (random t, so dL/dy is a random cotangent) is compared with central differences of L along
// random tangents, L evaluated in float64 from ORT's float32 forward.
import { afterAll, describe, expect, it } from "vitest";
import { ForwardSession, GradientSession, RULES } from "../../src/engine/index.js";
import { DataType } from "../../src/engine/onnx/proto.js";
import { SeededRandom } from "../../src/engine/random.js";
import { buildModel, type InitSpec, type NodeSpec } from "./build-model.js";

type Sampler = (rng: SeededRandom, n: number) => Float32Array;
const normal: Sampler = (rng, n) => rng.fillNormal(new Float32Array(n)) as Float32Array;
/** keeps values away from the kink at 0 (Relu, Abs, Clip boundaries...) */
const awayFromZero: Sampler = (rng, n) => Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * (0.1 + rng.next()));
const positive: Sampler = (rng, n) => Float32Array.from({ length: n }, () => 0.5 + 1.5 * rng.next());
/** distinct, well-separated values (no ties inside pooling windows) */
const distinct: Sampler = (rng, n) => Float32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => -1 + (2 * i) / n)));

interface OpRow {
  op: string;
  name: string;
  inputShape: number[];
  nodes: NodeSpec[];
  inits?: Record<string, InitSpec>;
  opset?: number;
  sample?: Sampler;
}

const wrng = new SeededRandom(7);
const w = (...dims: number[]): InitSpec => ({ f32: wrng.fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), 0, 0.5) as Float32Array, dims });
const i64 = (...v: number[]): InitSpec => ({ i64: v });
const n1 = (op: string, inputs: string[], attrs: NodeSpec["attrs"] = {}, outputs = ["y"]): NodeSpec => ({ op, inputs, outputs, attrs });
const ints = (v: number[]) => ({ ints: v });
const int = (v: number) => ({ i: v });
const flt = (v: number) => ({ f: v });
const str = (v: string) => ({ s: v });

const rows: OpRow[] = [
  // ---- elementwise
  { op: "Relu", name: "relu", inputShape: [2, 3, 4], nodes: [n1("Relu", ["x"])], sample: awayFromZero },
  { op: "LeakyRelu", name: "alpha 0.1", inputShape: [2, 5], nodes: [n1("LeakyRelu", ["x"], { alpha: flt(0.1) })], sample: awayFromZero },
  { op: "LeakyRelu", name: "negative alpha uses x", inputShape: [2, 5], nodes: [n1("LeakyRelu", ["x"], { alpha: flt(-0.3) })], sample: awayFromZero },
  { op: "Sigmoid", name: "sigmoid", inputShape: [3, 4], nodes: [n1("Sigmoid", ["x"])] },
  { op: "Tanh", name: "tanh", inputShape: [3, 4], nodes: [n1("Tanh", ["x"])] },
  { op: "Clip", name: "(-0.5, 0.7) inputs", inputShape: [4, 6], nodes: [n1("Clip", ["x", "lo", "hi"])], inits: { lo: { f32: [-0.5], dims: [] }, hi: { f32: [0.7], dims: [] } }, sample: (r, n) => Float32Array.from({ length: n }, () => [-1.2, -0.3, 0.2, 0.5, 1.4][r.nextInt(5)] + 0.05 * r.next()) },
  { op: "Clip", name: "ReLU6 min only + max", inputShape: [10], nodes: [n1("Clip", ["x", "lo", ""])], inits: { lo: { f32: [0], dims: [] } }, sample: awayFromZero },
  { op: "Clip", name: "opset 6 attributes", inputShape: [10], nodes: [n1("Clip", ["x"], { min: flt(-0.4), max: flt(0.6) })], opset: 9, sample: (r, n) => Float32Array.from({ length: n }, () => [-1, 0, 0.2, 1][r.nextInt(4)] + 0.1 * r.next()) },
  { op: "Erf", name: "erf", inputShape: [3, 5], nodes: [n1("Erf", ["x"])] },
  { op: "Exp", name: "exp", inputShape: [3, 5], nodes: [n1("Exp", ["x"])] },
  { op: "Log", name: "log", inputShape: [3, 5], nodes: [n1("Log", ["x"])], sample: positive },
  { op: "Sqrt", name: "sqrt", inputShape: [3, 5], nodes: [n1("Sqrt", ["x"])], sample: positive },
  { op: "Pow", name: "square, scalar exponent", inputShape: [3, 5], nodes: [n1("Pow", ["x", "e"])], inits: { e: { f32: [2], dims: [] } } },
  { op: "Pow", name: "0.3 per-column exponent", inputShape: [3, 2], nodes: [n1("Pow", ["x", "e"])], inits: { e: { f32: [0.3, 1.7], dims: [2] } }, sample: positive },
  { op: "Pow", name: "integer exponent", inputShape: [4], nodes: [n1("Pow", ["x", "e"])], inits: { e: i64(3) } },
  { op: "Abs", name: "abs", inputShape: [12], nodes: [n1("Abs", ["x"])], sample: awayFromZero },
  { op: "Neg", name: "neg", inputShape: [12], nodes: [n1("Neg", ["x"])] },
  { op: "HardSigmoid", name: "alpha 0.25 beta 0.4", inputShape: [3, 6], nodes: [n1("HardSigmoid", ["x"], { alpha: flt(0.25), beta: flt(0.4) })], sample: (r, n) => Float32Array.from({ length: n }, () => [-3.5, -1, 0.5, 1.5, 3.5][r.nextInt(5)] + 0.3 * r.next()) },
  { op: "HardSwish", name: "hardswish", inputShape: [3, 6], nodes: [n1("HardSwish", ["x"])], sample: (r, n) => Float32Array.from({ length: n }, () => [-4.5, -2, 0.5, 2, 3.5][r.nextInt(5)] + 0.4 * r.next()) },
  { op: "Elu", name: "alpha 0.7", inputShape: [12], nodes: [n1("Elu", ["x"], { alpha: flt(0.7) })], sample: awayFromZero },
  { op: "Softplus", name: "softplus", inputShape: [12], nodes: [n1("Softplus", ["x"])] },
  { op: "Reciprocal", name: "1/x", inputShape: [12], nodes: [n1("Reciprocal", ["x"])], sample: positive },
  { op: "PRelu", name: "per-channel slope", inputShape: [2, 3, 4], nodes: [n1("PRelu", ["x", "s"])], inits: { s: { f32: [0.1, -0.2, 0.3], dims: [3, 1] } }, sample: awayFromZero },
  { op: "Identity", name: "identity", inputShape: [12], nodes: [n1("Identity", ["x"])] },
  { op: "Dropout", name: "inference", inputShape: [2, 6], nodes: [n1("Dropout", ["x"], {}, ["y", "mask"])] },
  { op: "Dropout", name: "ratio + training_mode=false inputs", inputShape: [2, 6], nodes: [n1("Dropout", ["x", "r", "t"])], inits: { r: { f32: [0.5], dims: [] }, t: { bool: [0], dims: [] } } },
  { op: "Cast", name: "float -> double -> float", inputShape: [2, 6], nodes: [n1("Cast", ["x"], { to: int(DataType.DOUBLE) }, ["d"]), n1("Sqrt", ["d"], {}, ["s"]), n1("Cast", ["s"], { to: int(DataType.FLOAT) })], sample: positive },
  // ---- arithmetic (broadcasting)
  { op: "Add", name: "active operand broadcast [3,1,4] + [2,3,5,4]", inputShape: [3, 1, 4], nodes: [n1("Add", ["x", "c"])], inits: { c: w(2, 3, 5, 4) } },
  { op: "Add", name: "x + mean(x) (both active)", inputShape: [2, 3, 4], nodes: [n1("ReduceMean", ["x"], { axes: ints([1]) }, ["m"]), n1("Add", ["x", "m"])] },
  { op: "Sub", name: "c - x broadcast", inputShape: [1, 4, 1], nodes: [n1("Sub", ["c", "x"])], inits: { c: w(3, 1, 6) } },
  { op: "Sub", name: "x - x^2", inputShape: [6], nodes: [n1("Mul", ["x", "x"], {}, ["q"]), n1("Sub", ["x", "q"])] },
  { op: "Mul", name: "x * x (same tensor twice)", inputShape: [2, 5], nodes: [n1("Mul", ["x", "x"])] },
  { op: "Mul", name: "scalar constant", inputShape: [2, 5], nodes: [n1("Mul", ["x", "c"])], inits: { c: { f32: [-1.5], dims: [] } } },
  { op: "Div", name: "c / x broadcast", inputShape: [3, 1], nodes: [n1("Div", ["c", "x"])], inits: { c: w(3, 4) }, sample: positive },
  { op: "Div", name: "x / sum(x)", inputShape: [2, 4], nodes: [n1("ReduceSum", ["x", "ax"], {}, ["s"]), n1("Div", ["x", "s"])], inits: { ax: i64(1) }, sample: positive },
  { op: "Sum", name: "three operands, broadcast", inputShape: [2, 1, 3], nodes: [n1("Exp", ["x"], {}, ["e"]), n1("Sum", ["x", "e", "c"])], inits: { c: w(4, 3) } },
  { op: "Where", name: "constant condition", inputShape: [2, 3], nodes: [n1("Neg", ["x"], {}, ["n"]), n1("Where", ["cond", "x", "n"])], inits: { cond: { bool: [1, 0, 1, 0, 0, 1], dims: [2, 3] } } },
  // ---- linear
  { op: "Gemm", name: "torch Linear (transB) + bias", inputShape: [3, 4], nodes: [n1("Gemm", ["x", "W", "b"], { transB: int(1) })], inits: { W: w(5, 4), b: w(5) } },
  { op: "Gemm", name: "transA, alpha, beta, C [M,1]", inputShape: [4, 3], nodes: [n1("Gemm", ["x", "W", "C"], { transA: int(1), alpha: flt(0.7), beta: flt(1.3) })], inits: { W: w(4, 5), C: w(3, 1) } },
  { op: "Gemm", name: "both operands active, transA+transB", inputShape: [3, 3], nodes: [n1("Tanh", ["x"], {}, ["t"]), n1("Gemm", ["x", "t"], { transA: int(1), transB: int(1) })] },
  { op: "Gemm", name: "C active (broadcast [N])", inputShape: [5], nodes: [n1("Gemm", ["A", "B", "x"], { beta: flt(0.5) })], inits: { A: w(2, 3), B: w(3, 5) } },
  { op: "MatMul", name: "batched [2,3,4]@[4,5]", inputShape: [2, 3, 4], nodes: [n1("MatMul", ["x", "W"])], inits: { W: w(4, 5) } },
  { op: "MatMul", name: "broadcast [4,5]@[2,3,5,6] (x on the left)", inputShape: [4, 5], nodes: [n1("MatMul", ["x", "W"])], inits: { W: w(2, 3, 5, 6) } },
  { op: "MatMul", name: "1-D operands [5]@[2,5,3] and [2,3]@[3]", inputShape: [5], nodes: [n1("MatMul", ["x", "W"], {}, ["m"]), n1("MatMul", ["m", "v"])], inits: { W: w(2, 5, 3), v: w(3) } },
  { op: "MatMul", name: "attention-like x @ x^T", inputShape: [2, 3, 4], nodes: [n1("Transpose", ["x"], { perm: ints([0, 2, 1]) }, ["xt"]), n1("MatMul", ["x", "xt"])] },
  // ---- convolution
  { op: "Conv", name: "2-D k3 s1 p1 + bias (flipped-weight path)", inputShape: [1, 3, 6, 7], nodes: [n1("Conv", ["x", "W", "b"], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) })], inits: { W: w(4, 3, 3, 3), b: w(4) } },
  { op: "Conv", name: "2-D k3 s2 p1, (in+2p-k)%s = 1", inputShape: [1, 2, 8, 8], nodes: [n1("Conv", ["x", "W"], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) })], inits: { W: w(3, 2, 3, 3) } },
  { op: "Conv", name: "2-D k5 s3 asymmetric pads [0,1,2,0]", inputShape: [1, 2, 9, 10], nodes: [n1("Conv", ["x", "W"], { strides: ints([3, 3]), pads: ints([0, 1, 2, 0]) })], inits: { W: w(2, 2, 5, 5) } },
  { op: "Conv", name: "dilation 2, stride 1 and 2", inputShape: [1, 2, 9, 9], nodes: [n1("Conv", ["x", "W"], { dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) }, ["a"]), n1("Conv", ["a", "W2"], { dilations: ints([2, 2]), strides: ints([2, 2]) })], inits: { W: w(2, 2, 3, 3), W2: w(2, 2, 3, 3) } },
  { op: "Conv", name: "groups=2 and depthwise s2", inputShape: [1, 4, 7, 7], nodes: [n1("Conv", ["x", "W"], { group: int(2), pads: ints([1, 1, 1, 1]) }, ["a"]), n1("Conv", ["a", "D"], { group: int(6), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) })], inits: { W: w(6, 2, 3, 3), D: w(6, 1, 3, 3) } },
  { op: "Conv", name: "auto_pad SAME_UPPER stride 2, rectangular kernel", inputShape: [1, 2, 7, 8], nodes: [n1("Conv", ["x", "W"], { auto_pad: str("SAME_UPPER"), strides: ints([2, 2]) })], inits: { W: w(3, 2, 3, 4) } },
  { op: "Conv", name: "1-D k4 s2 p1 and k3 s3 (tail untouched)", inputShape: [1, 2, 17], nodes: [n1("Conv", ["x", "W"], { strides: ints([2]), pads: ints([1, 1]) }, ["a"]), n1("Conv", ["a", "W2"], { strides: ints([3]) })], inits: { W: w(3, 2, 4), W2: w(2, 3, 3) } },
  { op: "ConvTranspose", name: "k3 s2 p1 output_padding 1", inputShape: [1, 3, 4, 5], nodes: [n1("ConvTranspose", ["x", "W", "b"], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 1]) })], inits: { W: w(3, 2, 3, 3), b: w(2) } },
  { op: "ConvTranspose", name: "groups 2, 1-D, dilation 2", inputShape: [1, 4, 6], nodes: [n1("ConvTranspose", ["x", "W"], { group: int(2), dilations: ints([2]), strides: ints([3]) })], inits: { W: w(4, 3, 3) } },
  // ---- pooling
  { op: "MaxPool", name: "k3 s2 p1 overlapping (resnet stem)", inputShape: [1, 2, 9, 9], nodes: [n1("MaxPool", ["x"], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) })], sample: distinct },
  { op: "MaxPool", name: "k3 s2 ceil_mode", inputShape: [1, 2, 8, 8], nodes: [n1("MaxPool", ["x"], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) })], sample: distinct },
  { op: "MaxPool", name: "1-D k3 dilation 2 with Indices output", inputShape: [2, 3, 11], nodes: [n1("MaxPool", ["x"], { kernel_shape: ints([3]), dilations: ints([2]) }, ["y", "idx"])], sample: distinct },
  { op: "AveragePool", name: "k3 s2 p1 count_include_pad 0", inputShape: [1, 2, 7, 7], nodes: [n1("AveragePool", ["x"], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) })] },
  { op: "AveragePool", name: "k3 s2 p1 count_include_pad 1 ceil_mode", inputShape: [1, 2, 8, 8], nodes: [n1("AveragePool", ["x"], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), count_include_pad: int(1), ceil_mode: int(1) })] },
  { op: "AveragePool", name: "1-D k4 s3 ceil_mode, pad 0", inputShape: [1, 3, 14], nodes: [n1("AveragePool", ["x"], { kernel_shape: ints([4]), strides: ints([3]), ceil_mode: int(1) })] },
  { op: "GlobalAveragePool", name: "2x3x5x4", inputShape: [2, 3, 5, 4], nodes: [n1("GlobalAveragePool", ["x"])] },
  { op: "GlobalMaxPool", name: "2x3x5x4", inputShape: [2, 3, 5, 4], nodes: [n1("GlobalMaxPool", ["x"])], sample: distinct },
  // ---- normalisation and softmax
  { op: "BatchNormalization", name: "inference 4-D", inputShape: [2, 3, 4, 4], nodes: [n1("BatchNormalization", ["x", "s", "b", "m", "v"], { epsilon: flt(1e-3) })], inits: { s: w(3), b: w(3), m: w(3), v: { f32: [0.5, 1.5, 2], dims: [3] } } },
  { op: "BatchNormalization", name: "inference 2-D [N,C]", inputShape: [4, 3], nodes: [n1("BatchNormalization", ["x", "s", "b", "m", "v"])], inits: { s: w(3), b: w(3), m: w(3), v: { f32: [0.5, 1.5, 2], dims: [3] } } },
  { op: "LayerNormalization", name: "axis -1 with bias", inputShape: [2, 3, 6], nodes: [n1("LayerNormalization", ["x", "s", "b"])], inits: { s: w(6), b: w(6) } },
  { op: "LayerNormalization", name: "axis 1 over [C,H,W], no bias", inputShape: [2, 2, 3, 3], nodes: [n1("LayerNormalization", ["x", "s"], { axis: int(1), epsilon: flt(1e-3) })], inits: { s: w(2, 3, 3) } },
  { op: "Softmax", name: "axis -1", inputShape: [2, 3, 5], nodes: [n1("Softmax", ["x"])] },
  { op: "Softmax", name: "axis 1", inputShape: [2, 3, 5], nodes: [n1("Softmax", ["x"], { axis: int(1) })] },
  { op: "Softmax", name: "opset 11 (flattened from axis 1)", inputShape: [2, 3, 4], nodes: [n1("Softmax", ["x"])], opset: 11 },
  { op: "LogSoftmax", name: "axis -1", inputShape: [3, 6], nodes: [n1("LogSoftmax", ["x"])] },
  { op: "LogSoftmax", name: "axis 0", inputShape: [3, 6], nodes: [n1("LogSoftmax", ["x"], { axis: int(0) })] },
  // ---- reductions
  { op: "ReduceMean", name: "axes [2,3] keepdims (attribute, opset 17)", inputShape: [2, 3, 4, 5], nodes: [n1("ReduceMean", ["x"], { axes: ints([2, 3]) })] },
  { op: "ReduceMean", name: "all axes, keepdims 0", inputShape: [2, 3, 4], nodes: [n1("ReduceMean", ["x"], { keepdims: int(0) })] },
  { op: "ReduceMean", name: "opset 18 axes input [-1], keepdims 0", inputShape: [2, 3, 4], nodes: [n1("ReduceMean", ["x", "ax"], { keepdims: int(0) })], inits: { ax: i64(-1) }, opset: 18 },
  { op: "ReduceSum", name: "axes input [1], no keepdims", inputShape: [2, 3, 4], nodes: [n1("ReduceSum", ["x", "ax"], { keepdims: int(0) })], inits: { ax: i64(1) } },
  { op: "ReduceSum", name: "opset 11 axes attribute", inputShape: [2, 3, 4], nodes: [n1("ReduceSum", ["x"], { axes: ints([0, 2]) })], opset: 11 },
  // ---- data movement
  { op: "Reshape", name: "with -1", inputShape: [2, 3, 4], nodes: [n1("Reshape", ["x", "s"])], inits: { s: i64(4, -1) } },
  { op: "Flatten", name: "axis 2", inputShape: [2, 3, 4, 2], nodes: [n1("Flatten", ["x"], { axis: int(2) })] },
  { op: "Squeeze", name: "axes input (opset 13)", inputShape: [2, 1, 4], nodes: [n1("Squeeze", ["x", "ax"])], inits: { ax: i64(1) } },
  { op: "Squeeze", name: "axes attribute (opset 11)", inputShape: [2, 1, 4], nodes: [n1("Squeeze", ["x"], { axes: ints([1]) })], opset: 11 },
  { op: "Unsqueeze", name: "axes input", inputShape: [2, 4], nodes: [n1("Unsqueeze", ["x", "ax"])], inits: { ax: i64(0, 3) } },
  { op: "Transpose", name: "perm [0,2,3,1]", inputShape: [2, 3, 4, 5], nodes: [n1("Transpose", ["x"], { perm: ints([0, 2, 3, 1]) })] },
  { op: "Transpose", name: "default (reversed)", inputShape: [2, 3, 4], nodes: [n1("Transpose", ["x"])] },
  { op: "Concat", name: "axis 1: x, constant, exp(x)", inputShape: [2, 3, 2], nodes: [n1("Exp", ["x"], {}, ["e"]), n1("Concat", ["x", "c", "e"], { axis: int(1) })], inits: { c: w(2, 4, 2) } },
  { op: "Split", name: "split input, one output unused (opset 13)", inputShape: [2, 7], nodes: [n1("Split", ["x", "sp"], { axis: int(1) }, ["a", "unused", "c"]), n1("Mul", ["a", "c"], {}, ["y"])], inits: { sp: i64(3, 1, 3) } },
  { op: "Split", name: "num_outputs (opset 18)", inputShape: [6, 2], nodes: [n1("Split", ["x"], { num_outputs: int(2) }, ["a", "b"]), n1("Sub", ["a", "b"], {}, ["y"])], opset: 18 },
  { op: "Slice", name: "step 1, negative start, INT64_MAX end", inputShape: [3, 8], nodes: [n1("Slice", ["x", "st", "en", "ax"])], inits: { st: i64(-5), en: i64(9.3e18), ax: i64(1) } },
  { op: "Slice", name: "step 2 on two axes", inputShape: [5, 8], nodes: [n1("Slice", ["x", "st", "en", "ax", "sp"])], inits: { st: i64(1, 0), en: i64(5, 7), ax: i64(0, 1), sp: i64(2, 3) } },
  { op: "Slice", name: "step -1 (flip)", inputShape: [2, 6], nodes: [n1("Slice", ["x", "st", "en", "ax", "sp"])], inits: { st: i64(-1), en: i64(-9.3e18), ax: i64(1), sp: i64(-1) } },
  { op: "Gather", name: "axis 0 with duplicate indices", inputShape: [4, 3], nodes: [n1("Gather", ["x", "i"])], inits: { i: { i64: [2, 0, 2, 3], dims: [2, 2] } } },
  { op: "Gather", name: "axis 1, negative index", inputShape: [2, 5, 3], nodes: [n1("Gather", ["x", "i"], { axis: int(1) })], inits: { i: { i64: [-1, 1], dims: [2] } } },
  { op: "Gather", name: "scalar index (class token)", inputShape: [2, 5, 3], nodes: [n1("Gather", ["x", "i"], { axis: int(1) })], inits: { i: { i64: [0], dims: [] } } },
  { op: "Pad", name: "constant", inputShape: [1, 2, 3, 4], nodes: [n1("Pad", ["x", "p"])], inits: { p: i64(0, 0, 1, 2, 0, 0, 2, 1) } },
  { op: "Pad", name: "constant with negative pads (crop)", inputShape: [1, 2, 5, 6], nodes: [n1("Pad", ["x", "p"])], inits: { p: i64(0, 0, -1, 2, 0, 0, 1, -2) } },
  { op: "Pad", name: "reflect", inputShape: [1, 2, 4, 5], nodes: [n1("Pad", ["x", "p"], { mode: str("reflect") })], inits: { p: i64(0, 0, 2, 1, 0, 0, 1, 3) } },
  { op: "Pad", name: "edge, opset 18 axes input", inputShape: [2, 3, 4], nodes: [n1("Pad", ["x", "p", "", "ax"], { mode: str("edge") })], inits: { p: i64(2, 1, 3, 0), ax: i64(1, 2) }, opset: 18 },
  { op: "Expand", name: "[3,1] -> [2,3,4]", inputShape: [3, 1], nodes: [n1("Expand", ["x", "s"])], inits: { s: i64(2, 3, 4) } },
  // ---- old opsets: the rule reads the node's own signature and upgrade.ts rewrites the forward node for the
  // opset-17 gradient graph (a missing or wrong rewrite makes onnxruntime reject the graph or the gradient wrong)
  { op: "Pad", name: "opset 10 pads/value attributes, constant", inputShape: [2, 3], nodes: [n1("Pad", ["x"], { pads: ints([1, 0, 0, 2]), value: flt(0.5) })], opset: 10 },
  { op: "Pad", name: "opset 10 reflect", inputShape: [1, 3, 4], nodes: [n1("Pad", ["x"], { mode: str("reflect"), pads: ints([0, 2, 1, 0, 1, 2]) })], opset: 10 },
  { op: "Slice", name: "opset 9 starts/ends/axes attributes", inputShape: [4, 6], nodes: [n1("Slice", ["x"], { starts: ints([-3, 1]), ends: ints([100, 4]), axes: ints([1, 0]) })], opset: 9 },
  { op: "Slice", name: "opset 9 without axes", inputShape: [4, 6], nodes: [n1("Slice", ["x"], { starts: ints([1, 2]), ends: ints([3, 5]) })], opset: 9 },
  { op: "Dropout", name: "opset 10 ratio attribute, mask output", inputShape: [2, 6], nodes: [n1("Dropout", ["x"], { ratio: flt(0.3) }, ["d", "mask"]), n1("Tanh", ["d"])], opset: 10 },
  { op: "BatchNormalization", name: "opset 8 spatial/momentum attributes", inputShape: [2, 3, 4], nodes: [n1("BatchNormalization", ["x", "s", "b", "m", "v"], { spatial: int(1), momentum: flt(0.9), epsilon: flt(1e-3) })], inits: { s: w(3), b: w(3), m: w(3), v: { f32: [0.5, 1.5, 2], dims: [3] } }, opset: 8 },
  { op: "Split", name: "opset 11 split attribute", inputShape: [2, 5], nodes: [n1("Split", ["x"], { axis: int(-1), split: ints([2, 3]) }, ["a", "b"]), n1("Concat", ["b", "a"], { axis: int(1) })], opset: 11 },
  { op: "Unsqueeze", name: "opset 11 axes attribute", inputShape: [2, 3], nodes: [n1("Unsqueeze", ["x"], { axes: ints([-1, 0]) })], opset: 11 },
];

const EPS = 1e-3;
const sessions: { release(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

async function finiteDifferenceCheck(row: OpRow, seed: number) {
  const bytes = buildModel({ inputShape: row.inputShape, nodes: row.nodes, initializers: row.inits, outputs: ["y"], opset: row.opset });
  const rng = new SeededRandom(seed);
  const n = row.inputShape.reduce((a, b) => a * b, 1);
  const x = (row.sample ?? normal)(rng, n);
  const grad = await GradientSession.create(bytes, "y", { loss: "mse", threads: 1 });
  const fwd = await ForwardSession.create(bytes, ["y"], { threads: 1 });
  sessions.push(grad, fwd);
  const yLen = grad.stageShape.reduce((a, b) => a * b, 1);
  const target = rng.fillNormal(new Float32Array(yLen)) as Float32Array;
  const { grad: g } = await grad.run(x, target);
  const loss = async (input: Float32Array) => {
    const y = (await fwd.run(input)).y;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] - target[i]) ** 2;
    return s / y.length;
  };
  let gNorm = 0;
  for (const v of g) gNorm += v * v;
  gNorm = Math.sqrt(gNorm);
  expect(gNorm).toBeGreaterThan(0);
  for (let k = 0; k < 3; k++) {
    const v = rng.fillNormal(new Float64Array(n)) as Float64Array;
    const plus = Float32Array.from(x, (xi, i) => xi + EPS * v[i]);
    const minus = Float32Array.from(x, (xi, i) => xi - EPS * v[i]);
    // the float32 perturbation actually applied, so rounding of x + eps v does not count as error
    let analytic = 0;
    let vNorm = 0;
    for (let i = 0; i < n; i++) {
      const step = (plus[i] - minus[i]) / (2 * EPS);
      analytic += g[i] * step;
      vNorm += step * step;
    }
    const numeric = ((await loss(plus)) - (await loss(minus))) / (2 * EPS);
    const scale = (gNorm * Math.sqrt(vNorm)) / Math.sqrt(n);
    expect(Math.abs(numeric - analytic), `tangent ${k}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThanOrEqual(
      5e-3 * Math.max(Math.abs(analytic), scale) + 1e-7,
    );
  }
}

describe("VJP rules against central differences", () => {
  it.each(rows.map((r, i) => [`${r.op}: ${r.name}`, r, i] as const))("%s", async (_label, row, i) => {
    await finiteDifferenceCheck(row, 1000 + i);
  });

  it("TopK before opset 10 (k attribute) is rewritten so the logits after the stage still run in the gradient graph", async () => {
    // TopK has no rule (its values never lie on a gradient path here); only the forward rewrite is under test.
    const bytes = buildModel({ inputShape: [2, 5], nodes: [n1("Tanh", ["x"], {}, ["y"]), n1("TopK", ["y"], { k: int(2) }, ["top", "idx"])], outputs: ["top"], opset: 9 });
    const rng = new SeededRandom(77);
    const x = rng.fillNormal(new Float32Array(10)) as Float32Array;
    const grad = await GradientSession.create(bytes, "y", { loss: "mse", outputLogits: true, threads: 1 });
    const fwd = await ForwardSession.create(bytes, ["top"], { threads: 1 });
    sessions.push(grad, fwd);
    const { logits } = await grad.run(x, new Float32Array(10));
    expect(grad.logitsShape).toEqual([2, 2]);
    expect(Array.from(logits!)).toEqual(Array.from((await fwd.run(x)).top));
    // the two largest of each row, in descending order
    const expected = [x.subarray(0, 5), x.subarray(5)].map((r) => Array.from(r, Math.tanh).sort((a, b) => b - a).slice(0, 2));
    expected.flat().forEach((v, i) => expect(logits![i]).toBeCloseTo(v, 6));
  });

  it("has a row for every registered rule", () => {
    const covered = new Set(rows.map((r) => r.op));
    const missing = Object.keys(RULES).filter((op) => !covered.has(op));
    expect(missing).toEqual([]);
  });
});
