// The driver: finds the nodes between the input and the stage tensor, walks them in reverse topological order,
// asks each op's rule for its VJP, sums fan-out with one Sum per tensor and un-broadcasts in one place. The result
// is one ONNX model: forward nodes copied unchanged (ORT keeps its fusions) + loss + backward nodes.
import type { onnx as O } from "onnx-proto";
import { AppError } from "../../errors.js";
import type { NodeView, OnnxModel } from "../onnx/model.js";
import { DataType, FLOAT_TYPES, onnx, toNumber } from "../onnx/proto.js";
import type { TensorValue } from "../onnx/tensor.js";
import { attrInt } from "../onnx/attributes.js";
import { GraphBuilder } from "./builder.js";
import { INTEGER_OUTPUTS, NO_GRADIENT_OPS, RULES } from "./rules.js";
import { RuleLimitation, type VjpContext } from "./types.js";
import { upgradeNode } from "./upgrade.js";

export interface UnsupportedOp {
  opType: string;
  opset: number;
  nodeName: string;
  /** why, when a rule exists but does not cover this use of the op */
  reason?: string;
}

/** What one forward run with every tensor as an output tells us (see runtime/probe.ts). */
export interface ProbeInfo {
  shapes: Map<string, number[]>;
  dataTypes: Map<string, number>;
  /** values of small tensors that do not depend on the input data (shape arithmetic and the like) */
  values: Map<string, TensorValue>;
}

export type LossKind = "normalizedL2" | "mse";

export interface GradientGraphOptions {
  /** the Relu producing the stage tensor passes gradients unchanged (the paper's "fake ReLU") */
  fakeRelu?: boolean;
  /** normalizedL2 (default): ||a - t|| / ||t||; mse: mean((a - t)^2) */
  loss?: LossKind;
  outputActivations?: boolean;
  outputLogits?: boolean;
}

export interface GradientGraph {
  bytes: Uint8Array;
  inputShape: number[];
  stageShape: number[];
  logitsShape?: number[];
  nodeCount: number;
}

/** Public tensor names of the gradient graph. */
export const GRADIENT_IO = { x: "x", target: "target", loss: "loss", grad: "grad", activations: "activations", logits: "logits" } as const;

function producesFloat(model: OnnxModel, node: NodeView, outIndex: number, dataTypes?: Map<string, number>): boolean {
  const known = dataTypes?.get(node.outputs[outIndex]);
  if (known !== undefined) return FLOAT_TYPES.has(known);
  if (INTEGER_OUTPUTS[node.opType]?.includes(outIndex)) return false;
  if (node.opType === "Cast") return FLOAT_TYPES.has(attrInt(node.proto, "to", DataType.FLOAT));
  return true;
}

/** Tensors that depend on the input through ops that can carry a gradient, and are floating point. */
export function activeTensors(model: OnnxModel, dataTypes?: Map<string, number>): Set<string> {
  const active = new Set([model.inputName]);
  for (const n of model.nodes) {
    if (NO_GRADIENT_OPS.has(n.opType) && !n.domain) continue;
    if (!n.inputs.some((i) => i && active.has(i))) continue;
    n.outputs.forEach((o, k) => o && producesFloat(model, n, k, dataTypes) && active.add(o));
  }
  return active;
}

/**
 * Tensors whose VALUES depend on the input data. Shape/Size outputs do not (shapes are static here), so probe
 * values of shape arithmetic may be used as constants; an ArgMax of the data may not.
 */
export function dataDependentTensors(model: OnnxModel): Set<string> {
  const dependent = new Set([model.inputName]);
  for (const n of model.nodes) {
    if ((n.opType === "Shape" || n.opType === "Size") && !n.domain) continue;
    if (n.inputs.some((i) => i && dependent.has(i))) for (const o of n.outputs) if (o) dependent.add(o);
  }
  return dependent;
}

export function assertStage(model: OnnxModel, stage: string): void {
  if (stage === model.inputName || model.producer.has(stage)) return;
  const examples = model.nodes
    .slice(-4)
    .flatMap((n) => n.outputs)
    .filter(Boolean)
    .map((s) => `'${s}'`);
  throw new AppError(
    "BAD_USER_INPUT",
    `stage: expected the name of a tensor in the model; no tensor is named '${stage}' (for example: ${examples.join(", ")})`,
  );
}

/** Nodes (topological order) that lie on a data path from the input to the stage tensor. */
export function gradientPath(model: OnnxModel, stage: string, dataTypes?: Map<string, number>): { path: NodeView[]; active: Set<string> } {
  assertStage(model, stage);
  const active = activeTensors(model, dataTypes);
  const reaching = new Set([stage]);
  const onPath: NodeView[] = [];
  for (let k = model.nodes.length - 1; k >= 0; k--) {
    const n = model.nodes[k];
    if (!n.outputs.some((o) => reaching.has(o) && active.has(o))) continue;
    if (!n.inputs.some((i) => i && active.has(i))) continue;
    onPath.push(n);
    for (const i of n.inputs) if (i && active.has(i)) reaching.add(i);
  }
  return { path: onPath.reverse(), active };
}

function unsupportedOn(model: OnnxModel, path: NodeView[], active: Set<string>, stage: string, fakeRelu: boolean): UnsupportedOp[] {
  const problems: UnsupportedOp[] = [];
  const onPathOutputs = new Set<string>([stage]);
  for (const n of path) for (const i of n.inputs) if (active.has(i)) onPathOutputs.add(i);
  for (const n of path) {
    const base = { opType: n.opType, opset: model.opsetOf(n), nodeName: n.name };
    if (fakeRelu && n.opType === "Relu" && n.outputs[0] === stage) continue;
    const r = n.domain ? undefined : RULES[n.opType];
    if (!r) {
      problems.push(n.domain ? { ...base, reason: `op of domain '${n.domain}'` } : base);
      continue;
    }
    const badInput = n.inputs.findIndex((inp, i) => inp && active.has(inp) && r.inputs !== "all" && !r.inputs.includes(i));
    if (badInput >= 0) {
      problems.push({ ...base, reason: `input ${badInput} ('${n.inputs[badInput]}') depends on the model input; the rule differentiates inputs ${JSON.stringify(r.inputs)} only` });
      continue;
    }
    const outputs = r.outputs ?? [0];
    const badOutput = n.outputs.findIndex((o, k) => o && onPathOutputs.has(o) && outputs !== "all" && !outputs.includes(k));
    if (badOutput >= 0) problems.push({ ...base, reason: `output ${badOutput} ('${n.outputs[badOutput]}') is on the gradient path; the rule covers output 0 only` });
  }
  return problems;
}

/**
 * EVERY node on the gradient path from the input to `stage` whose op has no rule (or a rule that does not cover
 * how it is used), in topological order. Empty = the stage is differentiable.
 */
export function checkDifferentiable(
  model: OnnxModel,
  stage: string,
  options: { fakeRelu?: boolean; dataTypes?: Map<string, number>; limitations?: Map<string, UnsupportedOp> } = {},
): UnsupportedOp[] {
  const { path, active } = gradientPath(model, stage, options.dataTypes);
  const problems = unsupportedOn(model, path, active, stage, options.fakeRelu ?? false);
  if (options.limitations?.size) {
    const listed = new Set(problems.map((p) => p.nodeName));
    for (const n of path) {
      const limit = options.limitations.get(n.name);
      if (limit && !listed.has(n.name) && !(options.fakeRelu && n.opType === "Relu" && n.outputs[0] === stage)) problems.push(limit);
    }
    const order = new Map(path.map((n) => [n.name, n.index]));
    problems.sort((a, b) => (order.get(a.nodeName) ?? 0) - (order.get(b.nodeName) ?? 0));
  }
  return problems;
}

/**
 * Runs every applicable rule once on a scratch builder to find uses of an op its rule does not cover (attribute
 * combinations, data-dependent axes, training-mode nodes). Keyed by node name.
 */
export function ruleLimitations(model: OnnxModel, probe: ProbeInfo): Map<string, UnsupportedOp> {
  const active = activeTensors(model, probe.dataTypes);
  const found = new Map<string, UnsupportedOp>();
  const dependent = dataDependentTensors(model);
  const scratch = new GraphBuilder(gradientOpset(model.opset), new Set());
  for (const node of model.nodes) {
    const r = node.domain ? undefined : RULES[node.opType];
    if (!r || !node.inputs.some((i) => i && active.has(i))) continue;
    const ctx: VjpContext = {
      node,
      opset: model.opsetOf(node),
      b: scratch,
      shape: (name) => probe.shapes.get(name) ?? model.constantValue(name)?.dims ?? [],
      dataType: (name) => probe.dataTypes.get(name) ?? model.constantValue(name)?.dataType ?? DataType.FLOAT,
      constant: (name) => (active.has(name) ? undefined : (model.constantValue(name) ?? (dependent.has(name) ? undefined : probe.values.get(name)))),
      dy: node.outputs.map((o) => (o && active.has(o) ? `dy:${o}` : null)),
      needs: (i) => Boolean(node.inputs[i]) && active.has(node.inputs[i]),
      scalar: (v) => scratch.scalar(v),
      unbroadcast: (g) => g,
    };
    try {
      r.vjp(ctx);
    } catch (e) {
      found.set(node.name, { opType: node.opType, opset: model.opsetOf(node), nodeName: node.name, reason: (e as Error).message });
    }
    scratch.nodes.length = 0;
    scratch.initializers.length = 0;
  }
  return found;
}

export function describeUnsupported(ops: UnsupportedOp[]): string {
  return ops.map((u) => `${u.opType} (opset ${u.opset}, node '${u.nodeName}'${u.reason ? `: ${u.reason}` : ""})`).join("; ");
}

/**
 * The opset of the emitted graph: at least 17, which gives ScatterElements reduction="add" (16),
 * GreaterOrEqual/LessOrEqual (12) and LayerNormalization (17). Standard ops keep their meaning from 13 to 17;
 * older forward nodes whose signature moved are rewritten by upgradeNode.
 */
export function gradientOpset(modelOpset: number): number {
  return Math.max(17, modelOpset);
}

export function buildGradientGraph(model: OnnxModel, probe: ProbeInfo, stage: string, options: GradientGraphOptions = {}): GradientGraph {
  const { path, active } = gradientPath(model, stage, probe.dataTypes);
  const fakeRelu = options.fakeRelu ?? false;
  const unsupported = unsupportedOn(model, path, active, stage, fakeRelu);
  if (unsupported.length) {
    throw new AppError("UNSUPPORTED_MODEL", `stage '${stage}' cannot be differentiated: no gradient rule for ${describeUnsupported(unsupported)}`, {
      unsupportedOps: unsupported,
    });
  }
  if (!active.has(stage)) {
    throw new AppError("BAD_USER_INPUT", `stage: tensor '${stage}' does not depend on the model input through floating-point ops, so it has no input gradient`);
  }
  const shapeOf = (name: string): number[] => {
    const s = probe.shapes.get(name) ?? (name === model.inputName ? model.inputShape : model.constantValue(name)?.dims);
    if (!s) throw new AppError("INTERNAL", `no static shape known for tensor '${name}'`);
    return s;
  };
  const taken = new Set<string>();
  for (const n of model.nodes) for (const t of [...n.inputs, ...n.outputs]) taken.add(t);
  for (const t of model.initializers.keys()) taken.add(t);
  const opset = gradientOpset(model.opset);
  const b = new GraphBuilder(opset, taken);

  const stageShape = shapeOf(stage);
  const targetIn = b.fresh("target");

  // ---- loss and its gradient with respect to the stage activations -----------------------------------------
  const diff = b.op("Sub", [stage, targetIn]);
  let loss: string;
  let seed: string;
  if ((options.loss ?? "normalizedL2") === "normalizedL2") {
    // loss = ||a - t|| / ||t||;  dloss/da = (a - t) / (||a - t|| ||t||)  (0 when a == t)
    const diffNorm = b.op("Sqrt", [b.reduceSum(b.op("Mul", [diff, diff]), null, false)]);
    const targetNorm = b.op("Sqrt", [b.reduceSum(b.op("Mul", [targetIn, targetIn]), null, false)]);
    loss = b.op("Div", [diffNorm, targetNorm]);
    seed = b.op("Div", [diff, b.op("Mul", [b.op("Max", [diffNorm, b.scalar(1e-30)]), targetNorm])]);
  } else {
    // loss = mean((a - t)^2);  dloss/da = 2 (a - t) / n
    const n = stageShape.reduce((p, q) => p * q, 1);
    loss = b.reduceMean(b.op("Mul", [diff, diff]), null, false);
    seed = b.op("Mul", [diff, b.scalar(2 / n)]);
  }

  // ---- reverse walk ----------------------------------------------------------------------------------------
  const contributions = new Map<string, string[]>([[stage, [seed]]]);
  const totals = new Map<string, string | null>();
  const total = (t: string): string | null => {
    if (totals.has(t)) return totals.get(t)!;
    const parts = contributions.get(t) ?? [];
    const g = parts.length === 0 ? null : parts.length === 1 ? parts[0] : b.op("Sum", parts);
    totals.set(t, g);
    return g;
  };
  const unbroadcast = (g: string, from: number[], to: number[]): string => {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    return b.reshape(axes.length ? b.reduceSum(g, axes, true) : g, to);
  };
  const dependent = dataDependentTensors(model);
  const constant = (name: string): TensorValue | undefined => {
    if (active.has(name)) return undefined;
    return model.constantValue(name) ?? (dependent.has(name) ? undefined : probe.values.get(name));
  };
  for (let k = path.length - 1; k >= 0; k--) {
    const node = path[k];
    const dy = node.outputs.map((o) => (o ? total(o) : null));
    if (dy.every((g) => g === null)) continue;
    let grads: (string | null | undefined)[];
    if (fakeRelu && node.opType === "Relu" && node.outputs[0] === stage) {
      grads = [dy[0]]; // fake ReLU: identity backward at the matched stage
    } else {
      const ctx: VjpContext = {
        node,
        opset: model.opsetOf(node),
        b,
        shape: shapeOf,
        dataType: (name) => probe.dataTypes.get(name) ?? model.constantValue(name)?.dataType ?? DataType.FLOAT,
        constant,
        dy,
        needs: (i) => Boolean(node.inputs[i]) && active.has(node.inputs[i]),
        scalar: (v) => b.scalarOf(v, probe.dataTypes.get(node.inputs[0]) ?? DataType.FLOAT),
        unbroadcast,
      };
      try {
        grads = RULES[node.opType].vjp(ctx);
      } catch (e) {
        if (e instanceof RuleLimitation) {
          const u: UnsupportedOp = { opType: node.opType, opset: model.opsetOf(node), nodeName: node.name, reason: e.message };
          throw new AppError("UNSUPPORTED_MODEL", `stage '${stage}' cannot be differentiated: no gradient rule for ${describeUnsupported([u])}`, {
            unsupportedOps: [u],
          });
        }
        throw e;
      }
    }
    node.inputs.forEach((inp, i) => {
      const g = grads[i];
      if (!g || !inp || !active.has(inp)) return;
      const list = contributions.get(inp);
      if (list) list.push(g);
      else contributions.set(inp, [g]);
    });
  }
  const gradX = total(model.inputName);
  if (!gradX) throw new AppError("BAD_USER_INPUT", `stage: tensor '${stage}' does not depend on the model input`);

  // ---- assemble: forward (renamed where a name collides with the public I/O) + backward, pruned -------------
  const publicNames = new Set<string>(Object.values(GRADIENT_IO));
  const rename = new Map<string, string>();
  for (const t of taken) if (publicNames.has(t)) rename.set(t, b.fresh(`fwd_${t}`));
  const rn = (t: string) => rename.get(t) ?? t;
  const renameNode = (n: O.INodeProto): O.INodeProto =>
    onnx.NodeProto.create({ ...n, input: (n.input ?? []).map(rn), output: (n.output ?? []).map(rn) });

  const outputs: { name: string; from: string; shape: number[] }[] = [
    { name: GRADIENT_IO.loss, from: loss, shape: [] },
    { name: GRADIENT_IO.grad, from: gradX, shape: model.inputShape },
  ];
  if (options.outputActivations) outputs.push({ name: GRADIENT_IO.activations, from: stage, shape: stageShape });
  let logitsShape: number[] | undefined;
  if (options.outputLogits) {
    const logits = model.outputNames[0];
    logitsShape = shapeOf(logits);
    outputs.push({ name: GRADIENT_IO.logits, from: logits, shape: logitsShape });
  }
  const head: O.INodeProto[] = [
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh("input_x"), input: [GRADIENT_IO.x], output: [rn(model.inputName)] }),
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh("input_target"), input: [GRADIENT_IO.target], output: [targetIn] }),
  ];
  const tail = outputs.map((o) =>
    onnx.NodeProto.create({ opType: "Identity", name: b.fresh(`output_${o.name}`), input: [rn(o.from)], output: [o.name] }),
  );
  const forward = model.nodes.flatMap((n) => (model.opsetOf(n) < 13 && !n.domain ? upgradeNode(n, model.opsetOf(n), b, shapeOf) : [n.proto]));
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
  const opsetImport = Object.entries(model.opsets).map(([domain, version]) => ({ domain, version: domain === "" || domain === "ai.onnx" ? opset : version }));
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
