// Builds the VjpContext a rule sees from what the caller knows about the forward graph. The driver and the
// catalogue's dry run (ruleLimitations) differ only in the parts they pass; the accessors are the same for both.
import type { VjpContext } from "./types.js";

/** What the caller supplies; the accessors (x, y, gy, unbroadcastTo) are derived from it. */
export type ContextParts = Omit<VjpContext, "x" | "y" | "gy" | "unbroadcastTo">;

export function vjpContext(parts: ContextParts): VjpContext {
  const { node } = parts;
  return {
    ...parts,
    x: (i = 0) => node.inputs[i],
    y: (i = 0) => node.outputs[i],
    gy: (i = 0) => parts.dy[i]!,
    unbroadcastTo: (i, g) => parts.unbroadcast(g, parts.shape(node.outputs[0]), parts.shape(node.inputs[i])),
  };
}
