// The loss on the stage activations a (target t) and its gradient with respect to a, which seeds the reverse walk.
// Adding a loss = one entry in LOSSES (and its name in LossKind); the walk and the assembly do not change.
import type { NodeView } from "../onnx/model.js";
import type { GraphBuilder } from "./builder.js";

export type LossKind = "normalizedL2" | "mse" | "crossEntropy";

export interface LossNodes {
  /** scalar loss */
  loss: string;
  /** d loss / d a, shaped like the stage */
  seed: string;
}

/** Emits the loss of `stage` against `target` (both tensor names) and its gradient. */
export type Loss = (b: GraphBuilder, stage: string, target: string, stageShape: number[]) => LossNodes;

export const LOSSES: Readonly<Record<LossKind, Loss>> = Object.freeze({
  // loss = ||a - t|| / ||t||;  dloss/da = (a - t) / (||a - t|| ||t||)  (0 when a == t)
  normalizedL2: (b, stage, target) => {
    const diff = b.op("Sub", [stage, target]);
    const diffNorm = b.op("Sqrt", [b.reduceSum(b.op("Mul", [diff, diff]), null, false)]);
    const targetNorm = b.op("Sqrt", [b.reduceSum(b.op("Mul", [target, target]), null, false)]);
    const loss = b.op("Div", [diffNorm, targetNorm]);
    // the floor keeps the gradient finite (0) when the activations already equal the target
    const seed = b.op("Div", [diff, b.op("Mul", [b.op("Max", [diffNorm, b.scalar(1e-30)]), targetNorm])]);
    return { loss, seed };
  },
  // loss = mean((a - t)^2);  dloss/da = 2 (a - t) / n
  mse: (b, stage, target, stageShape) => {
    const diff = b.op("Sub", [stage, target]);
    const n = stageShape.reduce((p, q) => p * q, 1);
    const loss = b.reduceMean(b.op("Mul", [diff, diff]), null, false);
    return { loss, seed: b.op("Mul", [diff, b.scalar(2 / n)]) };
  },
  // Cross-entropy of the logits a against a label distribution t over the last axis (a one-hot row per example for
  // a class label), averaged over the other axes as PyTorch's F.cross_entropy(reduction="mean") does. The label is
  // the runtime `target` input, so one built graph serves every class.
  //   loss = -(1/R) sum_r sum_c t_rc log softmax(a_r)_c;   dloss/da_r = (softmax(a_r) sum_c t_rc - t_r) / R
  // (softmax(a) - t for a one-hot row). LogSoftmax keeps the loss finite for large logits.
  crossEntropy: (b, stage, target, stageShape) => {
    const rows = stageShape.slice(0, -1).reduce((p, q) => p * q, 1);
    const axis = stageShape.length - 1;
    const loss = b.op("Mul", [b.reduceSum(b.op("Mul", [target, b.op("LogSoftmax", [stage], { axis: { i: axis } })]), null, false), b.scalar(-1 / rows)]);
    const mass = b.reduceSum(target, [axis], true);
    const softmax = b.op("Softmax", [stage], { axis: { i: axis } });
    const seed = b.op("Mul", [b.op("Sub", [b.op("Mul", [softmax, mass]), target]), b.scalar(1 / rows)]);
    return { loss, seed };
  },
});

export function isLossKind(name: unknown): name is LossKind {
  return typeof name === "string" && Object.hasOwn(LOSSES, name);
}

/**
 * The paper's "fake ReLU" (Feather et al. 2023): with the option on, the Relu that produces the stage tensor passes
 * gradients unchanged, so the metamer is also pushed where the stage's pre-activation is negative. The Relu then
 * needs no rule; every place that decides how the stage node is differentiated asks this one function.
 */
export function isFakeRelu(node: NodeView, stage: string, fakeRelu: boolean | undefined): boolean {
  return Boolean(fakeRelu) && node.opType === "Relu" && node.outputs[0] === stage;
}
