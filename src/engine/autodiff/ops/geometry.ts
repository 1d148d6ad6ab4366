// Sliding-window geometry shared by Conv, ConvTranspose and the pools: kernel, strides, dilations and explicit
// begin/end pads (auto_pad resolved against the shapes the probe run measured).
import type { onnx as O } from "onnx-proto";
import { attrInts, attrString } from "../../onnx/attributes.js";

export interface WindowGeometry {
  /** spatial input sizes */
  input: number[];
  /** spatial output sizes */
  output: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
}

export function windowGeometry(node: O.INodeProto, xShape: number[], yShape: number[], kernel: number[]): WindowGeometry {
  const n = xShape.length - 2;
  const input = xShape.slice(2);
  const output = yShape.slice(2);
  const strides = attrInts(node, "strides") ?? new Array(n).fill(1);
  const dilations = attrInts(node, "dilations") ?? new Array(n).fill(1);
  const autoPad = attrString(node, "auto_pad", "NOTSET");
  let padBegin: number[];
  let padEnd: number[];
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const total = input.map((h, i) => Math.max(0, (output[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - h));
    const small = total.map((t) => Math.floor(t / 2));
    padBegin = autoPad === "SAME_UPPER" ? small : total.map((t, i) => t - small[i]);
    padEnd = total.map((t, i) => t - padBegin[i]);
  } else if (autoPad === "VALID") {
    padBegin = new Array(n).fill(0);
    padEnd = new Array(n).fill(0);
  } else {
    const pads = attrInts(node, "pads") ?? new Array(2 * n).fill(0);
    padBegin = pads.slice(0, n);
    padEnd = pads.slice(n, 2 * n);
  }
  return { input, output, kernel, strides, dilations, padBegin, padEnd };
}

export const effectiveKernel = (g: WindowGeometry, i: number) => (g.kernel[i] - 1) * g.dilations[i] + 1;

/**
 * Pads and output_padding for a ConvTranspose that maps a window op's output gradient back onto its input:
 * delta = H + pb - keff - s (Ho - 1); end pad = max(0, -delta), output_padding = max(0, delta).
 */
export function transposeGeometry(g: WindowGeometry): { pads: number[]; outputPadding: number[] } {
  const delta = g.input.map((h, i) => h + g.padBegin[i] - effectiveKernel(g, i) - g.strides[i] * (g.output[i] - 1));
  return {
    pads: [...g.padBegin, ...delta.map((d) => Math.max(0, -d))],
    outputPadding: delta.map((d) => Math.max(0, d)),
  };
}
