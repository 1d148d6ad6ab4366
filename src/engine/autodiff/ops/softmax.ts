// Softmax family. Before opset 13 the op normalised over all axes from `axis` on (input coerced to 2-D).
import { attrInt } from "../../onnx/attributes.js";
import { rule, type RuleTable, type VjpContext } from "../types.js";

function softmaxAxes(c: VjpContext): number[] {
  const rank = c.shape(c.node.inputs[0]).length;
  const axis = attrInt(c.node.proto, "axis", c.opset >= 13 ? -1 : 1);
  const a = axis < 0 ? axis + rank : axis;
  return c.opset >= 13 ? [a] : Array.from({ length: rank - a }, (_, i) => a + i);
}

export const softmaxRules: RuleTable = {
  // dx = y * (dy - sum(dy * y))
  Softmax: rule([0], (c) => {
    const y = c.node.outputs[0];
    const s = c.b.reduceSum(c.b.op("Mul", [c.dy[0]!, y]), softmaxAxes(c), true);
    return [c.b.op("Mul", [y, c.b.op("Sub", [c.dy[0]!, s])])];
  }),
  // dx = dy - exp(y) * sum(dy)
  LogSoftmax: rule([0], (c) => {
    const y = c.node.outputs[0];
    const s = c.b.reduceSum(c.dy[0]!, softmaxAxes(c), true);
    return [c.b.op("Sub", [c.dy[0]!, c.b.op("Mul", [c.b.op("Exp", [y]), s])])];
  }),
};
