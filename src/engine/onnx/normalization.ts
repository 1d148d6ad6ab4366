// Input normalization baked into a model (issue 13 item 7): torchvision-style models expect (x - mean) / std per
// channel, while the hub feeds every image model raw pixel values in its inputRange. Wrapping the graph in a Sub and
// a Div before the original input lets a lab register the exported file as is, and keeps one input convention
// (synthesis, rendering, bounds) for every model.
import type { onnx as O } from "onnx-proto";
import { EngineError } from "../errors.js";
import { decodeOnnxModel, encodeModel } from "./model.js";
import { float32Tensor } from "./tensor.js";

export interface InputNormalization {
  /** per channel of the input, subtracted first */
  mean: number[];
  /** per channel of the input, divided by after the mean; every value > 0 */
  std: number[];
}

/**
 * The channel axis of an input shape: NCHW / NCT (rank >= 3) have channels on axis 1, CHW-less ranks (1 or 2: an
 * audio waveform [1, T]) have one channel. Returns [axis or null, channel count].
 */
export function normalizationChannels(inputShape: readonly number[]): { axis: number | null; channels: number } {
  if (inputShape.length >= 3) return { axis: 1, channels: inputShape[1] };
  return { axis: null, channels: 1 };
}

/** Checks `n` against the input shape: one finite mean and one std > 0 per channel. EngineError INVALID_ARGUMENT (the API's BAD_USER_INPUT). */
export function checkNormalization(n: InputNormalization, inputShape: readonly number[]): void {
  const { channels } = normalizationChannels(inputShape);
  const shape = `[${inputShape.join(",")}]`;
  for (const field of ["mean", "std"] as const) {
    const values = n[field];
    if (!Array.isArray(values) || values.length !== channels) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `normalization.${field}: the model's input ${shape} has ${channels} channel${channels === 1 ? "" : "s"}` +
          `${inputShape.length >= 3 ? " (axis 1)" : ""}, so give ${channels} value${channels === 1 ? "" : "s"}; got ${Array.isArray(values) ? values.length : 0}`,
      );
    }
    const bad = values.findIndex((v) => !Number.isFinite(v) || (field === "std" && !(v > 0)));
    if (bad >= 0) {
      throw new EngineError(
        "INVALID_ARGUMENT",
        `normalization.${field}[${bad}]: expected ${field === "std" ? "a number > 0" : "a finite number"}, got ${values[bad]}`,
      );
    }
  }
}

/**
 * The model with `Sub(input, mean)` and `Div(·, std)` in front of its original input: on raw input x the wrapped
 * model computes exactly what the original computes on (x - mean) / std (float32, as onnxruntime does it). The input
 * keeps its name and shape, so stage names and stage labels of the original stay valid; the two new tensors become
 * (targetable) layers of their own. Pure: bytes in, bytes out.
 */
export function wrapWithNormalization(bytes: Uint8Array, n: InputNormalization): Uint8Array {
  const model = decodeOnnxModel(bytes);
  checkNormalization(n, model.inputShape);
  const { axis, channels } = normalizationChannels(model.inputShape);
  const proto = model.proto;
  const graph = proto.graph!;
  const input = model.inputName;

  const used = allNames(graph);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const meanName = fresh("metamers_normalization_mean");
  const stdName = fresh("metamers_normalization_std");
  const centred = fresh(`${input}_minus_mean`);
  const normalized = fresh(`${input}_normalized`);

  // The original graph reads the normalized tensor wherever it read the input (subgraphs of If/Loop/Scan too, which
  // may read outer-scope names); graph outputs that are the input itself keep returning the raw input.
  for (const node of graph.node ?? []) renameInputs(node, input, normalized);

  // Broadcast shape: [1, C, 1, ...] for channel-first inputs, [1] for single-channel ones.
  const dims = axis === null ? [1] : model.inputShape.map((d, i) => (i === axis ? channels : 1));
  graph.initializer = [...(graph.initializer ?? []), float32Tensor(meanName, dims, n.mean), float32Tensor(stdName, dims, n.std)];
  const sub = { name: fresh("metamers_normalization_sub"), opType: "Sub", domain: "", input: [input, meanName], output: [centred] };
  const div = { name: fresh("metamers_normalization_div"), opType: "Div", domain: "", input: [centred, stdName], output: [normalized] };
  graph.node = [sub, div, ...(graph.node ?? [])] as O.INodeProto[];
  // Some exporters list initializers as graph inputs too (IR < 4); ours are not inputs, so nothing to add there.
  return encodeModel(proto);
}

function renameInputs(node: O.INodeProto, from: string, to: string): void {
  node.input = (node.input ?? []).map((i) => (i === from ? to : i));
  for (const a of node.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) {
      if (!g) continue;
      // A subgraph that declares its own tensor of that name shadows the outer one: leave it alone.
      const shadows = (g.input ?? []).some((v) => v.name === from) || (g.initializer ?? []).some((t) => t.name === from) ||
        (g.node ?? []).some((nd) => (nd.output ?? []).includes(from));
      if (!shadows) for (const inner of g.node ?? []) renameInputs(inner, from, to);
    }
  }
}

function allNames(graph: O.IGraphProto, into = new Set<string>()): Set<string> {
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) if (v.name) into.add(v.name);
  for (const t of graph.initializer ?? []) if (t.name) into.add(t.name);
  for (const node of graph.node ?? []) {
    if (node.name) into.add(node.name);
    for (const name of [...(node.input ?? []), ...(node.output ?? [])]) if (name) into.add(name);
    for (const a of node.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) allNames(g, into);
  }
  return into;
}
