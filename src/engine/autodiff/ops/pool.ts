// Pooling. MaxPool routes gradients through the Indices of a second MaxPool node and ScatterElements(add), which is
// exact for overlapping windows (MaxUnpool overwrites instead of adding).
import { attrInt, attrInts, copyAttributes } from "../../onnx/attributes.js";
import { elementCount } from "../../onnx/tensor.js";
import { unary } from "../combinators.js";
import { RuleLimitation, type RuleTable, type VjpContext } from "../types.js";
import { effectiveKernel, transposeGeometry, windowGeometry } from "./geometry.js";

/** dx = scatter-add of dy at the argmax positions (ORT's Indices are flat over N*C*H*W). */
function scatterToArgmax(c: VjpContext, indices: string): string {
  const xShape = c.shape(c.x());
  const b = c.b;
  const n = elementCount(c.shape(c.y()));
  const flat = b.scatterAdd(b.zeros([elementCount(xShape)]), b.reshape(indices, [n]), b.reshape(c.gy(), [n]), 0);
  return b.reshape(flat, xShape);
}

function maxPoolVjp(c: VjpContext): string {
  const [, indices] = c.b.opWithAttributes("MaxPool", [c.x()], copyAttributes(c.node.proto, { storage_order: { i: 0 } }), 2);
  return scatterToArgmax(c, indices);
}

function globalMaxPoolVjp(c: VjpContext): string {
  const spatial = c.shape(c.x()).slice(2);
  const [, indices] = c.b.opN("MaxPool", [c.x()], { kernel_shape: { ints: spatial } }, 2);
  return scatterToArgmax(c, indices);
}

function averagePoolVjp(c: VjpContext): string {
  const X = c.x();
  const xShape = c.shape(X);
  const channels = xShape[1];
  const p = c.node.proto;
  const kernel = attrInts(p, "kernel_shape")!;
  const g = windowGeometry(p, xShape, c.shape(c.y()), kernel);
  const b = c.b;
  const spatialOnes = (dims: number[]) => b.constF32(new Float32Array(elementCount(dims)).fill(1), dims);
  // f = 1 / divisor per output window, built from constants so ORT folds it at load: AveragePool(ones) is
  // (real elements / divisor) and a Conv of ones counts the real elements, reproducing ORT's own divisor rules.
  const ones = spatialOnes([1, 1, ...g.input]);
  const pooledOnes = b.opWithAttributes("AveragePool", [ones], copyAttributes(p), 1)[0];
  const padEndExt = g.input.map((h, i) => Math.max(g.padEnd[i], (g.output[i] - 1) * g.strides[i] + effectiveKernel(g, i) - h - g.padBegin[i]));
  const counted = b.op("Conv", [ones, spatialOnes([1, 1, ...kernel])], {
    strides: { ints: g.strides },
    dilations: { ints: g.dilations },
    pads: { ints: [...g.padBegin, ...padEndExt] },
  });
  const count = b.slice(counted, g.output.map(() => 0), g.output, g.output.map((_, i) => i + 2));
  const f = b.op("Div", [pooledOnes, b.op("Max", [count, b.scalar(1)])]);
  // dx = ConvTranspose(dy * f, ones[C, 1, k], group = C)
  const t = transposeGeometry(g);
  const dx = b.op("ConvTranspose", [b.op("Mul", [c.gy(), f]), spatialOnes([channels, 1, ...kernel])], {
    kernel_shape: { ints: kernel },
    strides: { ints: g.strides },
    dilations: { ints: g.dilations },
    group: { i: channels },
    pads: { ints: t.pads },
    output_padding: { ints: t.outputPadding },
  });
  return dx;
}

export const poolRules: RuleTable = {
  // dx = scatter_add(zeros, argmax indices, dy)
  MaxPool: unary((c) => {
    if (attrInt(c.node.proto, "storage_order", 0) !== 0 && c.node.outputs[1]) throw new RuleLimitation("MaxPool with column-major Indices");
    return maxPoolVjp(c);
  }),
  // dx = ConvTranspose(dy / divisor, ones) spreading each window's gradient evenly
  AveragePool: unary(averagePoolVjp),
  // dx = expand(dy / (H W))
  GlobalAveragePool: unary((c) => {
    const xShape = c.shape(c.x());
    const scale = 1 / elementCount(xShape.slice(2));
    return c.b.op("Expand", [c.b.op("Mul", [c.gy(), c.scalar(scale)]), c.b.constI64(xShape)]);
  }),
  // dx = dy at the (first) maximum of each plane
  GlobalMaxPool: unary(globalMaxPoolVjp),
};
