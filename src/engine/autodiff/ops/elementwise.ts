// Unary elementwise ops. Masks come from the OUTPUT where the math allows it, so that ORT keeps fusing the forward
// Conv+Relu (the output then has no consumer other than the fused node's successors).
import { attrFloat, attrInt, hasAttr } from "../../onnx/attributes.js";
import { FLOAT_TYPES } from "../../onnx/proto.js";
import { rule, RuleLimitation, type RuleTable, type VjpContext } from "../types.js";

const x = (c: VjpContext) => c.node.inputs[0];
const y = (c: VjpContext) => c.node.outputs[0];
const dy = (c: VjpContext) => c.dy[0]!;

function zeroLike(c: VjpContext): string {
  return c.scalar(0);
}

/** Clip bounds: attributes before opset 11, optional inputs from 11 on. */
function clipBounds(c: VjpContext): { min?: string; max?: string } {
  if (c.opset < 11) {
    return {
      min: hasAttr(c.node.proto, "min") ? c.scalar(attrFloat(c.node.proto, "min", 0)) : undefined,
      max: hasAttr(c.node.proto, "max") ? c.scalar(attrFloat(c.node.proto, "max", 0)) : undefined,
    };
  }
  return { min: c.node.inputs[1] || undefined, max: c.node.inputs[2] || undefined };
}

export const elementwiseRules: RuleTable = {
  // dx = dy * [y > 0]
  Relu: rule([0], (c) => [c.b.op("Where", [c.b.op("Greater", [y(c), zeroLike(c)]), dy(c), zeroLike(c)])]),
  // dx = dy * (y > 0 ? 1 : alpha); y > 0 <=> x > 0 only when alpha > 0
  LeakyRelu: rule([0], (c) => {
    const alpha = attrFloat(c.node.proto, "alpha", 0.01);
    const positive = c.b.op("Greater", [alpha > 0 ? y(c) : x(c), zeroLike(c)]);
    return [c.b.op("Where", [positive, dy(c), c.b.op("Mul", [dy(c), c.scalar(alpha)])])];
  }),
  // dx = dy * y * (1 - y)
  Sigmoid: rule([0], (c) => [c.b.op("Mul", [dy(c), c.b.op("Mul", [y(c), c.b.op("Sub", [c.scalar(1), y(c)])])])]),
  // dx = dy * (1 - y^2)
  Tanh: rule([0], (c) => [c.b.op("Mul", [dy(c), c.b.op("Sub", [c.scalar(1), c.b.op("Mul", [y(c), y(c)])])])]),
  // dx = dy * [min <= x <= max] (x itself is needed: y alone cannot tell x = min from x < min)
  Clip: rule([0], (c) => {
    const { min, max } = clipBounds(c);
    const lo = min ? c.b.op("GreaterOrEqual", [x(c), min]) : null;
    const hi = max ? c.b.op("LessOrEqual", [x(c), max]) : null;
    const inside = lo && hi ? c.b.op("And", [lo, hi]) : (lo ?? hi);
    return [inside ? c.b.op("Where", [inside, dy(c), zeroLike(c)]) : dy(c)];
  }),
  // dx = dy * 2/sqrt(pi) * exp(-x^2)
  Erf: rule([0], (c) => {
    const e = c.b.op("Exp", [c.b.op("Neg", [c.b.op("Mul", [x(c), x(c)])])]);
    return [c.b.op("Mul", [dy(c), c.b.op("Mul", [e, c.scalar(2 / Math.sqrt(Math.PI))])])];
  }),
  // dx = dy * y
  Exp: rule([0], (c) => [c.b.op("Mul", [dy(c), y(c)])]),
  // dx = dy / x
  Log: rule([0], (c) => [c.b.op("Div", [dy(c), x(c)])]),
  // dx = dy / (2 y)
  Sqrt: rule([0], (c) => [c.b.op("Div", [dy(c), c.b.op("Mul", [y(c), c.scalar(2)])])]),
  // dx = dy * sign(x)
  Abs: rule([0], (c) => [c.b.op("Mul", [dy(c), c.b.op("Sign", [x(c)])])]),
  // dx = -dy
  Neg: rule([0], (c) => [c.b.op("Neg", [dy(c)])]),
  // dx = dy * e * x^(e-1), exponent constant (or at least not data-dependent)
  Pow: rule([0], (c) => {
    const e = c.node.inputs[1];
    const eType = c.dataType(e);
    // The exponent may be an integer tensor (Pow-12+): bring it to the data's type first.
    const eF = FLOAT_TYPES.has(eType) ? e : c.b.cast(e, c.dataType(x(c)));
    const eMinus1 = c.b.op("Sub", [eF, c.scalar(1)]);
    const local = c.b.op("Mul", [eF, c.b.op("Pow", [x(c), eMinus1])]);
    const g = c.b.op("Mul", [dy(c), local]);
    return [c.unbroadcast(g, c.shape(y(c)), c.shape(x(c)))];
  }),
  // dx = dy * alpha where 0 < y < 1 (y = clamp(alpha x + beta, 0, 1))
  HardSigmoid: rule([0], (c) => {
    const alpha = attrFloat(c.node.proto, "alpha", 0.2);
    const inside = c.b.op("And", [c.b.op("Greater", [y(c), zeroLike(c)]), c.b.op("Less", [y(c), c.scalar(1)])]);
    return [c.b.op("Where", [inside, c.b.op("Mul", [dy(c), c.scalar(alpha)]), zeroLike(c)])];
  }),
  // y = x * clamp(x/6 + 1/2, 0, 1): dx = dy * (x < -3 ? 0 : x > 3 ? 1 : (2x + 3) / 6)
  HardSwish: rule([0], (c) => {
    const slope = c.b.op("Add", [c.b.op("Mul", [x(c), c.scalar(1 / 3)]), c.scalar(0.5)]);
    const clipped = c.b.op("Where", [c.b.op("Greater", [x(c), c.scalar(3)]), c.scalar(1), slope]);
    const local = c.b.op("Where", [c.b.op("Less", [x(c), c.scalar(-3)]), zeroLike(c), clipped]);
    return [c.b.op("Mul", [dy(c), local])];
  }),
  // dx = dy * (x > 0 ? 1 : y + alpha)
  Elu: rule([0], (c) => {
    const alpha = attrFloat(c.node.proto, "alpha", 1);
    const negative = c.b.op("Add", [y(c), c.scalar(alpha)]);
    return [c.b.op("Mul", [dy(c), c.b.op("Where", [c.b.op("Greater", [x(c), zeroLike(c)]), c.scalar(1), negative])])];
  }),
  // dx = dy * sigmoid(x)
  Softplus: rule([0], (c) => [c.b.op("Mul", [dy(c), c.b.op("Sigmoid", [x(c)])])]),
  // dx = -dy * y^2
  Reciprocal: rule([0], (c) => [c.b.op("Neg", [c.b.op("Mul", [dy(c), c.b.op("Mul", [y(c), y(c)])])])]),
  // dx = dy * (x > 0 ? 1 : slope), slope broadcast (constant)
  PRelu: rule([0], (c) => {
    const local = c.b.op("Where", [c.b.op("Greater", [x(c), zeroLike(c)]), c.scalar(1), c.node.inputs[1]]);
    return [c.b.op("Mul", [dy(c), local])];
  }),
  // dx = dy
  Identity: rule([0], (c) => [dy(c)]),
  // inference Dropout is the identity (the mask output is boolean)
  Dropout: rule([0], (c) => {
    if (c.opset >= 12 && c.node.inputs[2]) {
      const training = c.constant(c.node.inputs[2]);
      if (!training || Number(training.data[0]) !== 0) throw new RuleLimitation("Dropout in training mode has no deterministic gradient");
    }
    if (c.opset < 7 && attrInt(c.node.proto, "is_test", 0) === 0) throw new RuleLimitation("Dropout in training mode");
    return [dy(c)];
  }),
  // dx = cast(dy) back to x's float type
  Cast: rule([0], (c) => [c.b.cast(dy(c), c.dataType(x(c)))]),
};
