// Data-movement ops. Gather-like index patterns known at emit time become a static flat index map scattered back
// with ScatterElements (reduction "add" where an input element can be read more than once).
import { attrInt, attrInts, attrString } from "../../onnx/attributes.js";
import { DataType } from "../../onnx/proto.js";
import { elementCount } from "../../onnx/tensor.js";
import { normalizeAxis } from "../axes.js";
import { unary } from "../combinators.js";
import { rule, RuleLimitation, type RuleTable, type VjpContext } from "../types.js";

/** dx = reshape(dy, shape(x)): the op re-indexes the same elements */
const backToInput = unary((c) => c.b.reshape(c.gy(), c.shape(c.x())));

function constInts(c: VjpContext, name: string | undefined, what: string): number[] | undefined {
  if (!name) return undefined;
  const v = c.constant(name);
  if (!v) throw new RuleLimitation(`${c.node.opType} ${what} computed from the data`);
  return Array.from(v.data as ArrayLike<number>, Number);
}

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** dx = scatter of dy to the flat input positions `map[j]` that output element j was read from. */
function scatterIndexMap(c: VjpContext, map: number[], unique: boolean): string {
  const xShape = c.shape(c.x());
  const b = c.b;
  const flatDy = b.reshape(c.gy(), [map.length]);
  const idx = b.constI64(map);
  const zeros = b.zeros([elementCount(xShape)]);
  const scattered = unique ? b.op("ScatterElements", [zeros, idx, flatDy], { axis: { i: 0 } }) : b.scatterAdd(zeros, idx, flatDy, 0);
  return b.reshape(scattered, xShape);
}

/** For every output element (row-major), the flat index of the input element it copies. */
function indexMap(outShape: number[], inShape: number[], sourceIndex: (axis: number, o: number) => number): number[] {
  const n = elementCount(outShape);
  const inStrides = strides(inShape);
  const perAxis = outShape.map((d, ax) => Array.from({ length: d }, (_, o) => sourceIndex(ax, o) * inStrides[ax]));
  const map = new Array<number>(n);
  const counter = new Array(outShape.length).fill(0);
  for (let j = 0; j < n; j++) {
    let flat = 0;
    for (let ax = 0; ax < outShape.length; ax++) flat += perAxis[ax][counter[ax]];
    map[j] = flat;
    for (let ax = outShape.length - 1; ax >= 0; ax--) {
      if (++counter[ax] < outShape[ax]) break;
      counter[ax] = 0;
    }
  }
  return map;
}

function sliceVjp(c: VjpContext): string {
  const xShape = c.shape(c.x());
  const yShape = c.shape(c.y());
  const rank = xShape.length;
  const p = c.node.proto;
  const [starts, ends, axesIn, stepsIn] =
    c.opset >= 10
      ? [1, 2, 3, 4].map((i) => constInts(c, c.x(i), ["starts", "ends", "axes", "steps"][i - 1]))
      : [attrInts(p, "starts"), attrInts(p, "ends"), attrInts(p, "axes"), undefined];
  const axes = (axesIn ?? starts!.map((_, i) => i)).map((a) => normalizeAxis(a, rank));
  const start = new Array(rank).fill(0);
  const step = new Array(rank).fill(1);
  axes.forEach((ax, k) => {
    const d = xShape[ax];
    const s = stepsIn?.[k] ?? 1;
    let st = starts![k];
    st = st < 0 ? st + d : st; // a start index (not an axis) counts from the end of its axis when negative
    // Clamping as the ONNX spec states it (forward and backward steps differ at the ends).
    start[ax] = s > 0 ? Math.min(Math.max(st, 0), d) : Math.min(Math.max(st, 0), d - 1);
    step[ax] = s;
  });
  if (step.every((s) => s === 1)) {
    // dx = pad(dy, [start, x - start - y]) with zeros
    const pads = [...start, ...xShape.map((d, i) => d - start[i] - yShape[i])];
    return c.b.pad(c.gy(), pads);
  }
  return scatterIndexMap(c, indexMap(yShape, xShape, (ax, o) => start[ax] + o * step[ax]), true);
}

function padVjp(c: VjpContext): string {
  const xShape = c.shape(c.x());
  const yShape = c.shape(c.y());
  const rank = xShape.length;
  const p = c.node.proto;
  const mode = attrString(p, "mode", "constant");
  let pads = c.opset >= 11 ? constInts(c, c.x(1), "pads")! : attrInts(p, "pads")!;
  const axesIn = c.opset >= 18 ? constInts(c, c.x(3), "axes") : undefined;
  if (axesIn) {
    const full = new Array(2 * rank).fill(0);
    axesIn.forEach((a0, k) => {
      const a = normalizeAxis(a0, rank);
      full[a] = pads[k];
      full[a + rank] = pads[k + axesIn.length];
    });
    pads = full;
  }
  const begin = pads.slice(0, rank);
  if (mode === "constant") {
    // The part of x that survives (negative pads crop) sits at y offset max(pb, 0).
    const xLo = begin.map((pb) => Math.max(0, -pb));
    const xHi = xShape.map((d, i) => d - Math.max(0, -pads[i + rank]));
    const yLo = begin.map((pb) => Math.max(0, pb));
    const kept = c.b.slice(c.gy(), yLo, yLo.map((lo, i) => lo + xHi[i] - xLo[i]), xShape.map((_, i) => i));
    const needsPad = xLo.some((v) => v > 0) || xHi.some((v, i) => v < xShape[i]);
    return needsPad ? c.b.pad(kept, [...xLo, ...xShape.map((d, i) => d - xHi[i])]) : kept;
  }
  const source = (ax: number, o: number): number => {
    const d = xShape[ax];
    let i = o - begin[ax];
    if (mode === "edge") return Math.min(Math.max(i, 0), d - 1);
    if (mode === "wrap") return ((i % d) + d) % d;
    if (mode === "reflect") {
      if (d === 1) return 0;
      const period = 2 * (d - 1);
      i = ((i % period) + period) % period;
      return i < d ? i : period - i;
    }
    throw new RuleLimitation(`Pad mode '${mode}'`);
  };
  return scatterIndexMap(c, indexMap(yShape, xShape, source), false);
}

function splitVjp(c: VjpContext): string {
  const axis = normalizeAxis(attrInt(c.node.proto, "axis", 0), c.shape(c.x()).length);
  const parts = c.node.outputs.map((o, i) => c.dy[i] ?? c.b.zeros(c.shape(o)));
  return parts.length === 1 ? parts[0] : c.b.op("Concat", parts, { axis: { i: axis } });
}

function concatVjp(c: VjpContext): (string | null)[] {
  const axis = normalizeAxis(attrInt(c.node.proto, "axis", 0), c.shape(c.y()).length);
  let offset = 0;
  return c.node.inputs.map((inp, i) => {
    const size = c.shape(inp)[axis];
    const from = offset;
    offset += size;
    return c.needs(i) ? c.b.slice(c.gy(), [from], [from + size], [axis]) : null;
  });
}

function gatherVjp(c: VjpContext): string {
  const [X, I] = c.node.inputs;
  const xShape = c.shape(X);
  const rank = xShape.length;
  const a = normalizeAxis(attrInt(c.node.proto, "axis", 0), rank);
  const K = elementCount(c.shape(I));
  const b = c.b;
  // dy reshaped to x[:a] + [K] + x[a+1:], indices broadcast along the other axes, scatter-added into zeros.
  const updShape = [...xShape.slice(0, a), K, ...xShape.slice(a + 1)];
  const upd = b.reshape(c.gy(), updShape);
  const idx = b.op("Expand", [
    b.reshape(I, [...Array(a).fill(1), K, ...Array(rank - a - 1).fill(1)]),
    b.constI64(updShape),
  ]);
  const idx64 = c.dataType(I) === DataType.INT64 ? idx : b.cast(idx, DataType.INT64);
  return b.scatterAdd(b.zeros(xShape), idx64, upd, a);
}

function transposeVjp(c: VjpContext): string {
  const rank = c.shape(c.x()).length;
  const perm = attrInts(c.node.proto, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return c.b.transpose(c.gy(), inverse);
}

export const shapeRules: RuleTable = {
  // dx = reshape(dy, shape(x)) for every pure re-indexing of the same elements
  Reshape: backToInput,
  Flatten: backToInput,
  Squeeze: backToInput,
  Unsqueeze: backToInput,
  // dx = transpose(dy, inverse perm)
  Transpose: unary(transposeVjp),
  // dx_i = slice of dy along the axis
  Concat: rule("all", concatVjp),
  // dx = concat(dy_i), zeros for unused outputs
  Split: rule([0], (c) => [splitVjp(c)], "all"),
  // step 1: pad dy back; other steps: static index map + ScatterElements
  Slice: unary(sliceVjp),
  // dx = scatter-add of dy at the gathered indices (duplicates add up)
  Gather: unary(gatherVjp),
  // constant: crop dy (and pad back crops); reflect/edge/wrap: index map + ScatterElements(add)
  Pad: unary(padVjp),
  // dx = sum of dy over the broadcast axes
  Expand: unary((c) => c.unbroadcastTo(0, c.gy())),
};
