// Convolutions (1-D, 2-D, N-D; strides, pads, auto_pad, dilations, groups). Gradients with respect to the data
// input only: weights are constants of the exported model.
import { attrInt, attrInts } from "../../onnx/attributes.js";
import { unary } from "../combinators.js";
import type { RuleTable, VjpContext } from "../types.js";
import { effectiveKernel, transposeGeometry, windowGeometry } from "./geometry.js";

/**
 * Per-group swap of the in/out channel axes plus a spatial flip: W [M, C/g, k...] -> W~ [C, M/g, k...], so that a
 * stride-1 Conv of dy with W~ is the transposed convolution. NCHWc Conv kernels beat ConvTranspose by ~1.8x.
 */
export function flipWeights(w: Float32Array, shape: number[], group: number): { data: Float32Array; shape: number[] } {
  const [M, Cg, ...k] = shape;
  const kSize = k.reduce((a, b) => a * b, 1);
  const Mg = M / group;
  const C = Cg * group;
  const out = new Float32Array(w.length);
  for (let j = 0; j < group; j++)
    for (let m = 0; m < Mg; m++)
      for (let ci = 0; ci < Cg; ci++) {
        const src = ((j * Mg + m) * Cg + ci) * kSize;
        const dst = ((j * Cg + ci) * Mg + m) * kSize;
        for (let t = 0; t < kSize; t++) out[dst + kSize - 1 - t] = w[src + t];
      }
  return { data: out, shape: [C, Mg, ...k] };
}

function convVjp(c: VjpContext): string {
  const [X, W] = c.node.inputs;
  const wShape = c.shape(W);
  const kernel = attrInts(c.node.proto, "kernel_shape") ?? wShape.slice(2);
  const g = windowGeometry(c.node.proto, c.shape(X), c.shape(c.y()), kernel);
  const group = attrInt(c.node.proto, "group", 1);
  const common = { kernel_shape: { ints: kernel }, dilations: { ints: g.dilations }, group: { i: group } };
  const dy = c.gy();
  const w = c.constant(W);
  const padsS1 = g.kernel.map((_, i) => effectiveKernel(g, i) - 1 - g.padBegin[i]);
  const padsE1 = g.kernel.map((_, i) => effectiveKernel(g, i) - 1 - g.padEnd[i]);
  if (w && w.data instanceof Float32Array && g.strides.every((s) => s === 1) && [...padsS1, ...padsE1].every((p) => p >= 0)) {
    // stride 1: dx = Conv(dy, flipped W, pads = keff - 1 - p)
    const flipped = flipWeights(w.data, wShape, group);
    const wt = c.b.initializer("flipped_weight", flipped.shape, flipped.data);
    return c.b.op("Conv", [dy, wt], { ...common, kernel_shape: { ints: kernel }, strides: { ints: g.strides }, pads: { ints: [...padsS1, ...padsE1] } });
  }
  // dx = ConvTranspose(dy, W) with the same geometry; output_padding recovers the rows the forward never reached
  const t = transposeGeometry(g);
  return c.b.op("ConvTranspose", [dy, W], { ...common, strides: { ints: g.strides }, pads: { ints: t.pads }, output_padding: { ints: t.outputPadding } });
}

function convTransposeVjp(c: VjpContext): string {
  const [X, W] = c.node.inputs;
  const wShape = c.shape(W);
  const p = c.node.proto;
  const kernel = attrInts(p, "kernel_shape") ?? wShape.slice(2);
  const n = kernel.length;
  const strides = attrInts(p, "strides") ?? new Array(n).fill(1);
  const dilations = attrInts(p, "dilations") ?? new Array(n).fill(1);
  const outPad = attrInts(p, "output_padding") ?? new Array(n).fill(0);
  const inSize = c.shape(X).slice(2);
  const outSize = c.shape(c.y()).slice(2);
  const autoPad = attrInts(p, "output_shape") ? "SAME" : (p.attribute ?? []).find((a) => a.name === "auto_pad")?.s;
  let pads = attrInts(p, "pads") ?? new Array(2 * n).fill(0);
  const autoPadName = autoPad && typeof autoPad !== "string" ? Buffer.from(autoPad).toString() : autoPad;
  if (autoPadName && autoPadName !== "NOTSET" && autoPadName !== "VALID") {
    // total padding from the measured output size; ORT puts the larger half at the head for SAME_UPPER
    const total = inSize.map((h, i) => strides[i] * (h - 1) + outPad[i] + (kernel[i] - 1) * dilations[i] + 1 - outSize[i]);
    const head = total.map((t) => (autoPadName === "SAME_UPPER" ? t - Math.floor(t / 2) : Math.floor(t / 2)));
    pads = [...head, ...total.map((t, i) => t - head[i])];
  } else if (autoPadName === "VALID") pads = new Array(2 * n).fill(0);
  // dx = Conv(dy, W) with the same strides/pads/dilations/group: the adjoint of the transposed convolution
  return c.b.op("Conv", [c.gy(), W], {
    kernel_shape: { ints: kernel },
    strides: { ints: strides },
    dilations: { ints: dilations },
    group: { i: attrInt(p, "group", 1) },
    pads: { ints: pads },
  });
}

export const convRules: RuleTable = {
  // dx = ConvTranspose(dy, W) (or, for stride 1, Conv(dy, flip(W)))
  Conv: unary(convVjp),
  // dx = Conv(dy, W)
  ConvTranspose: unary(convTransposeVjp),
};
