// The last step of buildGradientGraph: one ONNX model made of the forward nodes (copied unchanged, so ORT keeps its
// fusions; old-opset nodes rewritten to the output opset), the loss and the backward nodes, behind public input and
// output names, pruned to what the outputs need.
import type { onnx as O } from "onnx-proto";
import type { OnnxModel } from "../onnx/model.js";
import { DataType, onnx, toNumber } from "../onnx/proto.js";
import type { GraphBuilder } from "./builder.js";
import { upgradeNode } from "./upgrade.js";

/** Public tensor names of the gradient graph. */
export const GRADIENT_IO = { x: "x", target: "target", loss: "loss", grad: "grad", activations: "activations", logits: "logits" } as const;

export interface GradientGraph {
  bytes: Uint8Array;
  inputShape: number[];
  stageShape: number[];
  logitsShape?: number[];
  nodeCount: number;
}

export interface AssemblyParts {
  stage: string;
  stageShape: number[];
  /** internal names of the target input, the loss and the input gradient */
  target: string;
  loss: string;
  gradX: string;
  outputActivations?: boolean;
  outputLogits?: boolean;
  shapeOf: (name: string) => number[];
}

/** `taken`: every tensor name of the forward graph (and those `b` generated), for renaming public-name clashes. */
export function assembleGradientGraph(model: OnnxModel, b: GraphBuilder, taken: Set<string>, parts: AssemblyParts): GradientGraph {
  const { stage, stageShape } = parts;
  // Forward tensors that happen to carry a public name are renamed.
  const publicNames = new Set<string>(Object.values(GRADIENT_IO));
  const rename = new Map<string, string>();
  for (const t of taken) if (publicNames.has(t)) rename.set(t, b.fresh(`fwd_${t}`));
  const rn = (t: string) => rename.get(t) ?? t;
  const renameNode = (n: O.INodeProto): O.INodeProto =>
    onnx.NodeProto.create({ ...n, input: (n.input ?? []).map(rn), output: (n.output ?? []).map(rn) });

  const outputs: { name: string; from: string; shape: number[] }[] = [
    { name: GRADIENT_IO.loss, from: parts.loss, shape: [] },
    { name: GRADIENT_IO.grad, from: parts.gradX, shape: model.inputShape },
  ];
  if (parts.outputActivations) outputs.push({ name: GRADIENT_IO.activations, from: stage, shape: stageShape });
  let logitsShape: number[] | undefined;
  if (parts.outputLogits) {
    const logits = model.outputNames[0];
    logitsShape = parts.shapeOf(logits);
    outputs.push({ name: GRADIENT_IO.logits, from: logits, shape: logitsShape });
  }
  const head: O.INodeProto[] = [
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh("input_x"), input: [GRADIENT_IO.x], output: [rn(model.inputName)] }),
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh("input_target"), input: [GRADIENT_IO.target], output: [parts.target] }),
  ];
  const tail = outputs.map((o) =>
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh(`output_${o.name}`), input: [rn(o.from)], output: [o.name] }),
  );
  const forward = model.nodes.flatMap((n) => (model.opsetOf(n) < 13 && !n.domain ? upgradeNode(n, model.opsetOf(n), b, parts.shapeOf) : [n.proto]));
  const all = [...head, ...forward.map(renameNode), ...b.nodes.map(renameNode), ...tail];
  // Keep only what the outputs need (drops everything after the stage unless the logits are requested).
  const needed = new Set(outputs.map((o) => o.name));
  const keep: O.INodeProto[] = [];
  for (let k = all.length - 1; k >= 0; k--) {
    const n = all[k];
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    keep.push(n);
    for (const i of n.input ?? []) if (i) needed.add(i);
  }
  keep.reverse();
  const initializers = [...(model.proto.graph!.initializer ?? []), ...b.initializers]
    .filter((t) => needed.has(rn(t.name ?? "")))
    .map((t) => (rename.has(t.name ?? "") ? onnx.TensorProto.create({ ...t, name: rn(t.name ?? "") }) : t));
  const valueInfo = (name: string, shape: number[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
    });
  const graph = onnx.GraphProto.create({
    name: `gradient of ${stage}`,
    node: keep,
    initializer: initializers,
    input: [valueInfo(GRADIENT_IO.x, model.inputShape), valueInfo(GRADIENT_IO.target, stageShape)],
    output: outputs.map((o) => valueInfo(o.name, o.shape)),
  });
  const opsetImport = Object.entries(model.opsets).map(([domain, version]) => ({
    domain,
    version: domain === "" || domain === "ai.onnx" ? b.opset : version,
  }));
  const proto = onnx.ModelProto.create({
    irVersion: Math.max(8, toNumber(model.proto.irVersion ?? 8)),
    producerName: "metamer-hub-autodiff",
    opsetImport,
    graph,
  });
  return {
    bytes: onnx.ModelProto.encode(proto).finish(),
    inputShape: model.inputShape,
    stageShape,
    logitsShape,
    nodeCount: keep.length,
  };
}
