// Softmax family. Before opset 13 the op normalised over all axes from `axis` on (input coerced to 2-D).
import { attrInt } from "../../onnx/attributes.js";
import { normalizeAxis } from "../axes.js";
import { unary } from "../combinators.js";
import type { RuleTable, VjpContext } from "../types.js";

function softmaxAxes(c: VjpContext): number[] {
  const rank = c.shape(c.x()).length;
  const a = normalizeAxis(attrInt(c.node.proto, "axis", c.opset >= 13 ? -1 : 1), rank);
  return c.opset >= 13 ? [a] : Array.from({ length: rank - a }, (_, i) => a + i);
}

export const softmaxRules: RuleTable = {
  // dx = y * (dy - sum(dy * y))
  Softmax: unary((c) => {
    const s = c.b.reduceSum(c.b.op("Mul", [c.gy(), c.y()]), softmaxAxes(c), true);
    return c.b.op("Mul", [c.y(), c.b.op("Sub", [c.gy(), s])]);
  }),
  // dx = dy - exp(y) * sum(dy)
  LogSoftmax: unary((c) => {
    const s = c.b.reduceSum(c.gy(), softmaxAxes(c), true);
    return c.b.op("Sub", [c.gy(), c.b.op("Mul", [c.b.op("Exp", [c.y()]), s])]);
  }),
};
