// Broadcasting binary arithmetic and friends. The driver's unbroadcast sums each gradient back to its operand.
import { rule, type RuleTable, type VjpContext } from "../types.js";

const a = (c: VjpContext) => c.node.inputs[0];
const b_ = (c: VjpContext) => c.node.inputs[1];
const dy = (c: VjpContext) => c.dy[0]!;
const yShape = (c: VjpContext) => c.shape(c.node.outputs[0]);
const back = (c: VjpContext, g: string, input: string) => c.unbroadcast(g, yShape(c), c.shape(input));

export const arithmeticRules: RuleTable = {
  // da = dy, db = dy
  Add: rule([0, 1], (c) => [c.needs(0) ? back(c, dy(c), a(c)) : null, c.needs(1) ? back(c, dy(c), b_(c)) : null]),
  // da = dy, db = -dy
  Sub: rule([0, 1], (c) => [c.needs(0) ? back(c, dy(c), a(c)) : null, c.needs(1) ? back(c, c.b.op("Neg", [dy(c)]), b_(c)) : null]),
  // da = dy * b, db = dy * a
  Mul: rule([0, 1], (c) => [
    c.needs(0) ? back(c, c.b.op("Mul", [dy(c), b_(c)]), a(c)) : null,
    c.needs(1) ? back(c, c.b.op("Mul", [dy(c), a(c)]), b_(c)) : null,
  ]),
  // da = dy / b, db = -(dy / b) * y
  Div: rule([0, 1], (c) => {
    const q = c.b.op("Div", [dy(c), b_(c)]);
    return [c.needs(0) ? back(c, q, a(c)) : null, c.needs(1) ? back(c, c.b.op("Neg", [c.b.op("Mul", [q, c.node.outputs[0]])]), b_(c)) : null];
  }),
  // d(input_i) = dy for every summand
  Sum: rule("all", (c) => c.node.inputs.map((inp, i) => (c.needs(i) ? back(c, dy(c), inp) : null))),
  // dcond: none; dx = dy where cond, dy_other = dy where not cond
  Where: rule([1, 2], (c) => {
    const zero = c.scalar(0);
    const cond = c.node.inputs[0];
    return [
      null,
      c.needs(1) ? back(c, c.b.op("Where", [cond, dy(c), zero]), c.node.inputs[1]) : null,
      c.needs(2) ? back(c, c.b.op("Where", [cond, zero, dy(c)]), c.node.inputs[2]) : null,
    ];
  }),
};
