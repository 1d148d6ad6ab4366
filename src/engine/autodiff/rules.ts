// All VJP rule tables, keyed by the exact ONNX op_type (default domain). Adding an op = one entry in a family
// table + one row in test/engine/ops.test.ts (a parity test enforces the row).
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
