// Broadcasting binary arithmetic and friends: each rule gives the gradient at the output's shape and the
// combinator sums it back to each operand's shape.
import { binary, broadcasting, perNode } from "../combinators.js";
import type { RuleTable } from "../types.js";

/** dy / b, shared by both operands of Div */
const quotient = perNode((c) => c.b.op("Div", [c.gy(), c.x(1)]));

export const arithmeticRules: RuleTable = {
  // da = dy, db = dy
  Add: binary(
    (c) => c.gy(),
    (c) => c.gy(),
  ),
  // da = dy, db = -dy
  Sub: binary(
    (c) => c.gy(),
    (c) => c.b.op("Neg", [c.gy()]),
  ),
  // da = dy * b, db = dy * a
  Mul: binary(
    (c) => c.b.op("Mul", [c.gy(), c.x(1)]),
    (c) => c.b.op("Mul", [c.gy(), c.x(0)]),
  ),
  // da = dy / b, db = -(dy / b) * y
  Div: binary(quotient, (c) => c.b.op("Neg", [c.b.op("Mul", [quotient(c), c.y()])])),
  // d(input_i) = dy for every summand
  Sum: broadcasting("all", (c) => c.gy()),
  // dcond: none; dx = dy where cond, dy_other = dy where not cond
  Where: broadcasting([1, 2], (c, i) => {
    const zero = c.scalar(0);
    return c.b.op("Where", i === 1 ? [c.x(0), c.gy(), zero] : [c.x(0), zero, c.gy()]);
  }),
};
