// Reductions: the gradient is the (scaled) incoming gradient broadcast back over the reduced axes.
import { attrInt, attrInts } from "../../onnx/attributes.js";
import { normalizeAxis } from "../axes.js";
import { unary } from "../combinators.js";
import { RuleLimitation, type RuleTable, type VjpContext } from "../types.js";

/** Axes of a Reduce* node: attribute before `inputSince`, second input from then on; null = all axes. */
function reduceAxes(c: VjpContext, inputSince: number): number[] | null {
  const rank = c.shape(c.x()).length;
  let axes: number[] | undefined;
  if (c.opset >= inputSince) {
    const name = c.x(1);
    if (name) {
      const v = c.constant(name);
      if (!v) throw new RuleLimitation("reduction axes computed from the data");
      axes = (v.data as number[]).map(Number);
    }
  } else axes = attrInts(c.node.proto, "axes");
  if (!axes || axes.length === 0) {
    const noop = c.opset >= inputSince && attrInt(c.node.proto, "noop_with_empty_axes", 0) === 1;
    return noop ? [] : null;
  }
  return axes.map((a) => normalizeAxis(a, rank)).sort((p, q) => p - q);
}

function reduceVjp(c: VjpContext, inputSince: number, mean: boolean): string {
  const xShape = c.shape(c.x());
  const axes = reduceAxes(c, inputSince) ?? xShape.map((_, i) => i);
  if (axes.length === 0) return c.gy();
  const kept = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  let g = c.b.reshape(c.gy(), kept);
  if (mean) g = c.b.op("Mul", [g, c.scalar(1 / axes.reduce((n, a) => n * xShape[a], 1))]);
  return c.b.op("Expand", [g, c.b.constI64(xShape)]);
}

export const reduceRules: RuleTable = {
  // dx = expand(dy / n)
  ReduceMean: unary((c) => reduceVjp(c, 18, true)),
  // dx = expand(dy)
  ReduceSum: unary((c) => reduceVjp(c, 13, false)),
};
