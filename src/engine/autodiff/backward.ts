// The driver: finds the nodes between the input and the stage tensor, seeds the reverse walk with the loss's
// gradient (losses.ts), walks the nodes in reverse topological order asking each op's rule for its VJP (rules.ts),
// sums fan-out with one Sum per tensor, and assembles one ONNX model: forward nodes copied unchanged (ORT keeps
// its fusions) + loss + backward nodes (assemble.ts).
import { EngineError } from "../errors.js";
import type { NodeView, OnnxModel } from "../onnx/model.js";
import { DataType, FLOAT_TYPES } from "../onnx/proto.js";
import type { TensorValue } from "../onnx/tensor.js";
import { attrInt } from "../onnx/attributes.js";
import { assembleGradientGraph, type GradientGraph } from "./assemble.js";
import { GraphBuilder } from "./builder.js";
import { vjpContext } from "./context.js";
import { isFakeRelu, isLossKind, LOSSES, type Loss, type LossKind } from "./losses.js";
import { INTEGER_OUTPUTS, NO_GRADIENT_OPS, RULES } from "./rules.js";
import { RuleLimitation, type VjpContext } from "./types.js";

export { GRADIENT_IO, type GradientGraph } from "./assemble.js";
export type { LossKind } from "./losses.js";

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

export interface GradientGraphOptions {
  /** the Relu producing the stage tensor passes gradients unchanged (the paper's "fake ReLU") */
  fakeRelu?: boolean;
  /** normalizedL2 (default): ||a - t|| / ||t||; mse: mean((a - t)^2); crossEntropy: CE(logits a, label weights t) */
  loss?: LossKind;
  outputActivations?: boolean;
  outputLogits?: boolean;
}

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
  throw new EngineError(
    "INVALID_ARGUMENT",
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
    if (isFakeRelu(n, stage, fakeRelu)) continue;
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
      if (limit && !listed.has(n.name) && !isFakeRelu(n, stage, options.fakeRelu)) problems.push(limit);
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
  const facts = forwardFacts(model, probe, active);
  const scratch = new GraphBuilder(gradientOpset(model.opset), new Set());
  for (const node of model.nodes) {
    const r = node.domain ? undefined : RULES[node.opType];
    if (!r || !node.inputs.some((i) => i && active.has(i))) continue;
    // Placeholder gradient names and lenient shapes: only whether the rule throws matters here.
    const ctx = vjpContext({
      node,
      opset: model.opsetOf(node),
      b: scratch,
      shape: (name) => probe.shapes.get(name) ?? model.constantValue(name)?.dims ?? [],
      ...facts,
      dy: node.outputs.map((o) => (o && active.has(o) ? `dy:${o}` : null)),
      needs: (i) => Boolean(node.inputs[i]) && active.has(node.inputs[i]),
      scalar: (v) => scratch.scalar(v),
      unbroadcast: (g) => g,
    });
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

/** What rules may ask about forward tensors besides shapes; the same for the driver and the dry run. */
function forwardFacts(model: OnnxModel, probe: ProbeInfo, active: Set<string>) {
  const dependent = dataDependentTensors(model);
  return {
    dataType: (name: string): number => probe.dataTypes.get(name) ?? model.constantValue(name)?.dataType ?? DataType.FLOAT,
    // Probe values are usable only for tensors the input data cannot change (shape arithmetic, not an ArgMax).
    constant: (name: string): TensorValue | undefined => {
      if (active.has(name)) return undefined;
      return model.constantValue(name) ?? (dependent.has(name) ? undefined : probe.values.get(name));
    },
  };
}

function lossFor(kind: GradientGraphOptions["loss"]): Loss {
  const name = kind ?? "normalizedL2";
  if (!isLossKind(name)) {
    throw new EngineError("INVALID_ARGUMENT", `loss: expected one of ${Object.keys(LOSSES).map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(kind)}`);
  }
  return LOSSES[name];
}

/** Shapes from the probe run (the input's and constants' from the file); a tensor without one is a bug here. */
function staticShapes(model: OnnxModel, probe: ProbeInfo): (name: string) => number[] {
  return (name) => {
    const s = probe.shapes.get(name) ?? (name === model.inputName ? model.inputShape : model.constantValue(name)?.dims);
    if (!s) throw new EngineError("INTERNAL", `no static shape known for tensor '${name}'`);
    return s;
  };
}

/** Every tensor name of the forward graph, in file order: generated names must avoid them all. */
function forwardNames(model: OnnxModel): Set<string> {
  const taken = new Set<string>();
  for (const n of model.nodes) for (const t of [...n.inputs, ...n.outputs]) taken.add(t);
  for (const t of model.initializers.keys()) taken.add(t);
  return taken;
}

function cannotDifferentiate(stage: string, unsupported: UnsupportedOp[]): EngineError {
  return new EngineError("UNSUPPORTED_MODEL", `stage '${stage}' cannot be differentiated: no gradient rule for ${describeUnsupported(unsupported)}`, {
    unsupportedOps: unsupported,
  });
}

export function buildGradientGraph(model: OnnxModel, probe: ProbeInfo, stage: string, options: GradientGraphOptions = {}): GradientGraph {
  const loss = lossFor(options.loss);
  const { path, active } = gradientPath(model, stage, probe.dataTypes);
  const fakeRelu = options.fakeRelu ?? false;
  const unsupported = unsupportedOn(model, path, active, stage, fakeRelu);
  if (unsupported.length) throw cannotDifferentiate(stage, unsupported);
  if (!active.has(stage)) {
    throw new EngineError("INVALID_ARGUMENT", `stage: tensor '${stage}' does not depend on the model input through floating-point ops, so it has no input gradient`);
  }
  const shapeOf = staticShapes(model, probe);
  const taken = forwardNames(model);
  const b = new GraphBuilder(gradientOpset(model.opset), taken);

  const stageShape = shapeOf(stage);
  const target = b.fresh("target");
  const lossNodes = loss(b, stage, target, stageShape);
  const gradX = walkBackward({ model, probe, path, active, stage, seed: lossNodes.seed, b, shapeOf, fakeRelu });
  return assembleGradientGraph(model, b, taken, {
    stage,
    stageShape,
    target,
    loss: lossNodes.loss,
    gradX,
    outputActivations: options.outputActivations,
    outputLogits: options.outputLogits,
    shapeOf,
  });
}

interface Walk {
  model: OnnxModel;
  probe: ProbeInfo;
  /** the nodes between the input and the stage, in topological order */
  path: NodeView[];
  active: Set<string>;
  stage: string;
  /** d loss / d stage */
  seed: string;
  b: GraphBuilder;
  shapeOf: (name: string) => number[];
  fakeRelu: boolean;
}

/** Emits the backward nodes from the stage to the model input; returns the name of d loss / d input. */
function walkBackward(w: Walk): string {
  const { model, probe, active, stage, b } = w;
  // A tensor read by several nodes gets one contribution from each; they are summed once, when first needed.
  const contributions = new Map<string, string[]>([[stage, [w.seed]]]);
  const totals = new Map<string, string | null>();
  const total = (t: string): string | null => {
    if (totals.has(t)) return totals.get(t)!;
    const parts = contributions.get(t) ?? [];
    const g = parts.length === 0 ? null : parts.length === 1 ? parts[0] : b.op("Sum", parts);
    totals.set(t, g);
    return g;
  };
  const facts = forwardFacts(model, probe, active);
  for (let k = w.path.length - 1; k >= 0; k--) {
    const node = w.path[k];
    const dy = node.outputs.map((o) => (o ? total(o) : null));
    if (dy.every((g) => g === null)) continue;
    const grads = isFakeRelu(node, stage, w.fakeRelu)
      ? [dy[0]] // identity backward at the matched stage
      : applyRule(
          stage,
          vjpContext({
            node,
            opset: model.opsetOf(node),
            b,
            shape: w.shapeOf,
            ...facts,
            dy,
            needs: (i) => Boolean(node.inputs[i]) && active.has(node.inputs[i]),
            scalar: (v) => b.scalarOf(v, probe.dataTypes.get(node.inputs[0]) ?? DataType.FLOAT),
            unbroadcast: (g, from, to) => b.unbroadcast(g, from, to),
          }),
        );
    node.inputs.forEach((inp, i) => {
      const g = grads[i];
      if (!g || !inp || !active.has(inp)) return;
      const list = contributions.get(inp);
      if (list) list.push(g);
      else contributions.set(inp, [g]);
    });
  }
  const gradX = total(model.inputName);
  if (!gradX) throw new EngineError("INVALID_ARGUMENT", `stage: tensor '${stage}' does not depend on the model input`);
  return gradX;
}

/** Runs the node's rule; a case the rule does not cover becomes UNSUPPORTED_MODEL naming the node and the reason. */
function applyRule(stage: string, ctx: VjpContext): (string | null | undefined)[] {
  const { node } = ctx;
  try {
    return RULES[node.opType].vjp(ctx);
  } catch (e) {
    if (e instanceof RuleLimitation) throw cannotDifferentiate(stage, [{ opType: node.opType, opset: ctx.opset, nodeName: node.name, reason: e.message }]);
    throw e;
  }
}
