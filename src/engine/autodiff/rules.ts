// All VJP rule tables, keyed by the exact ONNX op_type (default domain).
//
// HOW TO ADD AN OP: two places, nothing else.
//  1. The rule: one entry in the family table in ops/<family>.ts (a new family: a new file, spread into RULES below).
//     Pick the shape that fits (combinators.ts): `unary(c => dx)` for one differentiated input; `elementwise(c =>
//     local)` when dx = dy * local; `binary(da, db)` / `broadcasting(inputs, (c, i) => g)` for ops that broadcast
//     their inputs (return each gradient at the OUTPUT's shape: the combinator sums it back to the input's shape);
//     `rule(inputs, vjp, outputs?)` otherwise. Read the node with c.x(i), c.y(i), c.gy(i), c.shape(name),
//     c.constant(name); emit with c.b (builder.ts); a comment above the entry states the math (`// dx = ...`).
//     Each rule must handle:
//     - broadcasting: an input that broadcasts gets its gradient summed back to its own shape (c.unbroadcastTo);
//     - inputs: list in `inputs` only the positions it differentiates; a data-dependent input outside them makes
//       the node unsupported (reported by the driver, not by the rule). Return null for inputs that do not
//       c.needs(i), and compute nothing for them;
//     - outputs: list in `outputs` every output whose gradient it reads (default [0]); one it ignores must not lie
//       on the gradient path (the driver checks);
//     - opset differences: c.opset is the FORWARD node's opset and decides how its attributes and inputs are read
//       (axes as attribute or input, Clip bounds, Pad pads...). What the rule emits follows the output graph's
//       opset (>= 17) through the builder's helpers, so rules never branch on that. If the op's signature moved
//       before opset 13, also add a case to upgrade.ts so the forward node runs inside the opset-17 graph;
//     - attributes: read every attribute with its ONNX default (attrInt(p, "axis", 0)); negative axes through
//       normalizeAxis (axes.ts); shapes and auto_pad from the probe run (c.shape), never re-derived;
//     - element types: scalars through c.scalar (float32 or float64 like the data), integer inputs cast;
//     - unsupported cases: throw RuleLimitation("<op> <what>", e.g. "Dropout in training mode") for an attribute
//       combination or a data-dependent value (c.constant(name) is undefined) the rule does not cover. The
//       catalogue runs every rule once at registration, so the layer is listed with that reason, and a gradient
//       request gets UNSUPPORTED_MODEL naming the node. Never emit a wrong gradient instead.
//  2. The test rows: at least one row per op in test/engine/ops.test.ts (a parity test fails without it), one per
//     attribute variant and opset branch the rule distinguishes; each row is checked against central finite
//     differences. A RuleLimitation case gets a row in test/engine/rule-limitations.test.ts asserting the exact
//     error. An op whose outputs carry no gradient goes in NO_GRADIENT_OPS below instead (no rule, no row).
import { arithmeticRules } from "./ops/arithmetic.js";
import { convRules } from "./ops/conv.js";
import { elementwiseRules } from "./ops/elementwise.js";
import { linearRules } from "./ops/linear.js";
import { normalizationRules } from "./ops/normalization.js";
import { poolRules } from "./ops/pool.js";
import { reduceRules } from "./ops/reduce.js";
import { shapeRules } from "./ops/shape.js";
import { softmaxRules } from "./ops/softmax.js";
import type { Rule } from "./types.js";

export const RULES: Readonly<Record<string, Rule>> = Object.freeze({
  ...elementwiseRules,
  ...arithmeticRules,
  ...linearRules,
  ...convRules,
  ...poolRules,
  ...normalizationRules,
  ...softmaxRules,
  ...reduceRules,
  ...shapeRules,
});

/**
 * Ops whose outputs carry no gradient: integer/boolean results, shape arithmetic, and piecewise-constant functions
 * (zero derivative almost everywhere, as in PyTorch). They cut the gradient path instead of blocking it.
 */
export const NO_GRADIENT_OPS: ReadonlySet<string> = new Set([
  "Shape", "Size", "Constant", "ConstantOfShape", "Range", "EyeLike", "OneHot", "NonZero",
  "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
  "ArgMax", "ArgMin", "Floor", "Ceil", "Round", "Sign",
  "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial",
]);

/** Output positions that are never floating point even when the op's data output is. */
export const INTEGER_OUTPUTS: Readonly<Record<string, number[]>> = { MaxPool: [1], Dropout: [1], TopK: [1], Unique: [1, 2, 3] };
