// Unary elementwise ops. Masks come from the OUTPUT where the math allows it, so that ORT keeps fusing the forward
// Conv+Relu (the output then has no consumer other than the fused node's successors).
import { attrFloat, attrInt, hasAttr } from "../../onnx/attributes.js";
import { FLOAT_TYPES } from "../../onnx/proto.js";
import { elementwise, unary } from "../combinators.js";
import { RuleLimitation, type RuleTable, type VjpContext } from "../types.js";

/** Clip bounds: attributes before opset 11, optional inputs from 11 on. */
function clipBounds(c: VjpContext): { min?: string; max?: string } {
  if (c.opset < 11) {
    return {
      min: hasAttr(c.node.proto, "min") ? c.scalar(attrFloat(c.node.proto, "min", 0)) : undefined,
      max: hasAttr(c.node.proto, "max") ? c.scalar(attrFloat(c.node.proto, "max", 0)) : undefined,
    };
  }
  return { min: c.x(1) || undefined, max: c.x(2) || undefined };
}

export const elementwiseRules: RuleTable = {
  // dx = dy * [y > 0]
  Relu: unary((c) => c.b.op("Where", [c.b.op("Greater", [c.y(), c.scalar(0)]), c.gy(), c.scalar(0)])),
  // dx = dy * (y > 0 ? 1 : alpha); y > 0 <=> x > 0 only when alpha > 0
  LeakyRelu: unary((c) => {
    const alpha = attrFloat(c.node.proto, "alpha", 0.01);
    const positive = c.b.op("Greater", [alpha > 0 ? c.y() : c.x(), c.scalar(0)]);
    return c.b.op("Where", [positive, c.gy(), c.b.op("Mul", [c.gy(), c.scalar(alpha)])]);
  }),
  // dx = dy * y * (1 - y)
  Sigmoid: elementwise((c) => c.b.op("Mul", [c.y(), c.b.op("Sub", [c.scalar(1), c.y()])])),
  // dx = dy * (1 - y^2)
  Tanh: elementwise((c) => c.b.op("Sub", [c.scalar(1), c.b.op("Mul", [c.y(), c.y()])])),
  // dx = dy * [min <= x <= max] (x itself is needed: y alone cannot tell x = min from x < min)
  Clip: unary((c) => {
    const { min, max } = clipBounds(c);
    const lo = min ? c.b.op("GreaterOrEqual", [c.x(), min]) : null;
    const hi = max ? c.b.op("LessOrEqual", [c.x(), max]) : null;
    const inside = lo && hi ? c.b.op("And", [lo, hi]) : (lo ?? hi);
    return inside ? c.b.op("Where", [inside, c.gy(), c.scalar(0)]) : c.gy();
  }),
  // dx = dy * 2/sqrt(pi) * exp(-x^2)
  Erf: elementwise((c) => {
    const e = c.b.op("Exp", [c.b.op("Neg", [c.b.op("Mul", [c.x(), c.x()])])]);
    return c.b.op("Mul", [e, c.scalar(2 / Math.sqrt(Math.PI))]);
  }),
  // dx = dy * y
  Exp: elementwise((c) => c.y()),
  // dx = dy / x
  Log: unary((c) => c.b.op("Div", [c.gy(), c.x()])),
  // dx = dy / (2 y)
  Sqrt: unary((c) => c.b.op("Div", [c.gy(), c.b.op("Mul", [c.y(), c.scalar(2)])])),
  // dx = dy * sign(x)
  Abs: elementwise((c) => c.b.op("Sign", [c.x()])),
  // dx = -dy
  Neg: unary((c) => c.b.op("Neg", [c.gy()])),
  // dx = dy * e * x^(e-1), exponent constant (or at least not data-dependent); x may broadcast against e
  Pow: unary((c) => {
    const e = c.x(1);
    // The exponent may be an integer tensor (Pow-12+): bring it to the data's type first.
    const eF = FLOAT_TYPES.has(c.dataType(e)) ? e : c.b.cast(e, c.dataType(c.x()));
    const eMinus1 = c.b.op("Sub", [eF, c.scalar(1)]);
    const local = c.b.op("Mul", [eF, c.b.op("Pow", [c.x(), eMinus1])]);
    return c.unbroadcastTo(0, c.b.op("Mul", [c.gy(), local]));
  }),
  // dx = dy * alpha where 0 < y < 1 (y = clamp(alpha x + beta, 0, 1))
  HardSigmoid: unary((c) => {
    const alpha = attrFloat(c.node.proto, "alpha", 0.2);
    const inside = c.b.op("And", [c.b.op("Greater", [c.y(), c.scalar(0)]), c.b.op("Less", [c.y(), c.scalar(1)])]);
    return c.b.op("Where", [inside, c.b.op("Mul", [c.gy(), c.scalar(alpha)]), c.scalar(0)]);
  }),
  // y = x * clamp(x/6 + 1/2, 0, 1): dx = dy * (x < -3 ? 0 : x > 3 ? 1 : (2x + 3) / 6)
  HardSwish: elementwise((c) => {
    const slope = c.b.op("Add", [c.b.op("Mul", [c.x(), c.scalar(1 / 3)]), c.scalar(0.5)]);
    const clipped = c.b.op("Where", [c.b.op("Greater", [c.x(), c.scalar(3)]), c.scalar(1), slope]);
    return c.b.op("Where", [c.b.op("Less", [c.x(), c.scalar(-3)]), c.scalar(0), clipped]);
  }),
  // dx = dy * (x > 0 ? 1 : y + alpha)
  Elu: elementwise((c) => {
    const negative = c.b.op("Add", [c.y(), c.scalar(attrFloat(c.node.proto, "alpha", 1))]);
    return c.b.op("Where", [c.b.op("Greater", [c.x(), c.scalar(0)]), c.scalar(1), negative]);
  }),
  // dx = dy * sigmoid(x)
  Softplus: elementwise((c) => c.b.op("Sigmoid", [c.x()])),
  // dx = -dy * y^2
  Reciprocal: unary((c) => c.b.op("Neg", [c.b.op("Mul", [c.gy(), c.b.op("Mul", [c.y(), c.y()])])])),
  // dx = dy * (x > 0 ? 1 : slope), slope broadcast (constant)
  PRelu: elementwise((c) => c.b.op("Where", [c.b.op("Greater", [c.x(), c.scalar(0)]), c.scalar(1), c.x(1)])),
  // dx = dy
  Identity: unary((c) => c.gy()),
  // inference Dropout is the identity (the mask output is boolean)
  Dropout: unary((c) => {
    if (c.opset >= 12 && c.x(2)) {
      const training = c.constant(c.x(2));
      if (!training || Number(training.data[0]) !== 0) throw new RuleLimitation("Dropout in training mode has no deterministic gradient");
    }
    if (c.opset < 7 && attrInt(c.node.proto, "is_test", 0) === 0) throw new RuleLimitation("Dropout in training mode");
    return c.gy();
  }),
  // dx = cast(dy) back to x's float type
  Cast: unary((c) => c.b.cast(c.gy(), c.dataType(c.x()))),
};
