// Shapes of rule that recur across the op families, so that a table entry states only the op's own derivative.
// Each combinator emits exactly the nodes a hand-written rule would, in the same order.
import { rule, type Rule, type VjpContext } from "./types.js";

/** One differentiated input (0), one output: `dx(c)` returns the input gradient. */
export function unary(dx: (c: VjpContext) => string): Rule {
  return rule([0], (c) => [dx(c)]);
}

/** An elementwise op with a local derivative: dx = dy * derivative(c) (the derivative may read x and y). */
export function elementwise(derivative: (c: VjpContext) => string): Rule {
  return unary((c) => {
    const local = derivative(c);
    return c.b.op("Mul", [c.gy(), local]);
  });
}

/**
 * A broadcasting op over the inputs `inputs`: `grad(c, i)` gives input i's gradient at the OUTPUT's shape; it is
 * called only for inputs that need a gradient, in input order, and each result is summed back to its input's shape.
 */
export function broadcasting(inputs: number[] | "all", grad: (c: VjpContext, i: number) => string): Rule {
  const differentiates = (i: number) => inputs === "all" || inputs.includes(i);
  return rule(inputs, (c) => c.node.inputs.map((_, i) => (differentiates(i) && c.needs(i) ? c.unbroadcastTo(i, grad(c, i)) : null)));
}

/** A broadcasting two-input op: `da`/`db` give each operand's gradient at the output's shape. */
export function binary(da: (c: VjpContext) => string, db: (c: VjpContext) => string): Rule {
  return broadcasting([0, 1], (c, i) => (i === 0 ? da(c) : db(c)));
}

/**
 * A value computed at most once per node visit and shared by a rule's parts (e.g. Div's dy / b, used by both
 * operands' gradients); keyed by the context object, which the driver makes fresh for every node.
 */
export function perNode(make: (c: VjpContext) => string): (c: VjpContext) => string {
  const memo = new WeakMap<VjpContext, string>();
  return (c) => {
    let v = memo.get(c);
    if (v === undefined) memo.set(c, (v = make(c)));
    return v;
  };
}
