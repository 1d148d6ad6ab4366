// Inference-time normalisations (statistics are constants for BatchNormalization, recomputed for LayerNorm).
import { attrFloat, attrInt } from "../../onnx/attributes.js";
import { normalizeAxis } from "../axes.js";
import { unary } from "../combinators.js";
import { RuleLimitation, type RuleTable } from "../types.js";

export const normalizationRules: RuleTable = {
  // dx = dy * scale / sqrt(var + eps), per channel (axis 1)
  BatchNormalization: unary((c) => {
    if (attrInt(c.node.proto, "training_mode", 0) !== 0) throw new RuleLimitation("BatchNormalization in training mode");
    const [X, scale, , , variance] = c.node.inputs;
    const rank = c.shape(X).length;
    const eps = attrFloat(c.node.proto, "epsilon", 1e-5);
    const inv = c.b.op("Div", [scale, c.b.op("Sqrt", [c.b.op("Add", [variance, c.scalar(eps)])])]);
    const channels = c.shape(X)[1];
    const perChannel = c.b.reshape(inv, [channels, ...Array(Math.max(0, rank - 2)).fill(1)]);
    return c.b.op("Mul", [c.gy(), perChannel]);
  }),
  // dx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale, means over the normalised axes
  LayerNormalization: unary((c) => {
    const [X, scale] = c.node.inputs;
    const rank = c.shape(X).length;
    const axis = normalizeAxis(attrInt(c.node.proto, "axis", -1), rank);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const eps = attrFloat(c.node.proto, "epsilon", 1e-5);
    const b = c.b;
    const centred = b.op("Sub", [X, b.reduceMean(X, axes, true)]);
    const variance = b.reduceMean(b.op("Mul", [centred, centred]), axes, true);
    const inv = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [variance, c.scalar(eps)])])]);
    const xhat = b.op("Mul", [centred, inv]);
    const g = b.op("Mul", [c.gy(), scale]);
    const meanG = b.reduceMean(g, axes, true);
    const meanGX = b.reduceMean(b.op("Mul", [g, xhat]), axes, true);
    return b.op("Mul", [inv, b.op("Sub", [b.op("Sub", [g, meanG]), b.op("Mul", [xhat, meanGX])])]);
  }),
};
