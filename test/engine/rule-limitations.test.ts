// Uses of an op that its rule does not cover (training-mode nodes, values the rule needs but the data computes):
// a gradient request must fail with UNSUPPORTED_MODEL naming the node and the reason, never return a wrong
// gradient, and the registry's dry run (ruleLimitations, which the layer catalogue lists) must give the same reason.
import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/index.js";
import { ruleLimitations } from "../../src/engine/autodiff/backward.js";
import { buildGradientGraph, decodeOnnxModel, GradientSession, probeModel } from "../../src/engine/index.js";
import { buildModel, type ModelSpec, type NodeSpec } from "./build-model.js";

const n1 = (op: string, inputs: string[], attrs: NodeSpec["attrs"] = {}, outputs = ["y"]): NodeSpec => ({ op, inputs, outputs, attrs });
const perChannel = (...v: number[]) => ({ f32: v, dims: [v.length] });
const bnInits = { s: perChannel(1, 2, 3), b: perChannel(0, 0, 0), m: perChannel(0, 0, 0), v: perChannel(1, 1, 1) };
/** a one-element int64 tensor computed from the data: ArgMax over the 2 rows of a [2, 1] input (0 or 1) */
const argmaxOfX = n1("ArgMax", ["x"], { axis: { i: 0 }, keepdims: { i: 0 } }, ["am"]);

interface LimitationRow {
  name: string;
  spec: ModelSpec;
  node: { opType: string; opset: number; nodeName: string };
  reason: string;
}

const rows: LimitationRow[] = [
  {
    name: "BatchNormalization in training mode",
    spec: { inputShape: [2, 3, 4], nodes: [n1("BatchNormalization", ["x", "s", "b", "m", "v"], { training_mode: { i: 1 } }, ["y", "rm", "rv"])], initializers: bnInits, outputs: ["y"], opset: 15 },
    node: { opType: "BatchNormalization", opset: 15, nodeName: "BatchNormalization_0" },
    reason: "BatchNormalization in training mode",
  },
  {
    name: "Dropout with training_mode = true",
    spec: { inputShape: [2, 3], nodes: [n1("Dropout", ["x", "r", "t"])], initializers: { r: { f32: [0.5], dims: [] }, t: { bool: [1], dims: [] } }, outputs: ["y"], opset: 13 },
    node: { opType: "Dropout", opset: 13, nodeName: "Dropout_0" },
    reason: "Dropout in training mode has no deterministic gradient",
  },
  {
    name: "Dropout with training_mode computed from the data",
    spec: {
      inputShape: [2, 3],
      nodes: [n1("ReduceMax", ["x"], { keepdims: { i: 0 } }, ["mx"]), n1("Greater", ["mx", "big"], {}, ["t"]), n1("Dropout", ["x", "r", "t"])],
      initializers: { r: { f32: [0.5], dims: [] }, big: { f32: [1e9], dims: [] } },
      outputs: ["y"],
      opset: 13,
    },
    node: { opType: "Dropout", opset: 13, nodeName: "Dropout_2" },
    reason: "Dropout in training mode has no deterministic gradient",
  },
  {
    name: "ReduceSum axes computed from the data",
    spec: { inputShape: [2, 1], nodes: [argmaxOfX, n1("ReduceSum", ["x", "am"])], outputs: ["y"], opset: 13 },
    node: { opType: "ReduceSum", opset: 13, nodeName: "ReduceSum_1" },
    reason: "reduction axes computed from the data",
  },
  {
    name: "ReduceMean (opset 18) axes computed from the data",
    spec: { inputShape: [2, 1], nodes: [argmaxOfX, n1("ReduceMean", ["x", "am"])], outputs: ["y"], opset: 18 },
    node: { opType: "ReduceMean", opset: 18, nodeName: "ReduceMean_1" },
    reason: "reduction axes computed from the data",
  },
  {
    name: "Slice starts computed from the data",
    spec: { inputShape: [2, 1], nodes: [argmaxOfX, n1("Slice", ["x", "am", "en", "ax"])], initializers: { en: { i64: [9e18] }, ax: { i64: [0] } }, outputs: ["y"], opset: 13 },
    node: { opType: "Slice", opset: 13, nodeName: "Slice_1" },
    reason: "Slice starts computed from the data",
  },
  {
    name: "Pad pads computed from the data",
    spec: {
      inputShape: [2, 1],
      nodes: [argmaxOfX, n1("Concat", ["am", "zeros"], { axis: { i: 0 } }, ["pads"]), n1("Pad", ["x", "pads"])],
      initializers: { zeros: { i64: [0, 0, 0] } },
      outputs: ["y"],
      opset: 13,
    },
    node: { opType: "Pad", opset: 13, nodeName: "Pad_2" },
    reason: "Pad pads computed from the data",
  },
  {
    name: "MaxPool with column-major Indices",
    spec: { inputShape: [1, 1, 4, 4], nodes: [n1("MaxPool", ["x"], { kernel_shape: { ints: [2, 2] }, storage_order: { i: 1 } }, ["y", "idx"])], outputs: ["y"], opset: 13 },
    node: { opType: "MaxPool", opset: 13, nodeName: "MaxPool_0" },
    reason: "MaxPool with column-major Indices",
  },
];

async function failure(fn: () => Promise<unknown>): Promise<EngineError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return e as EngineError;
  }
  throw new Error("expected the call to fail");
}

describe("rule limitations", () => {
  it.each(rows.map((r) => [r.name, r] as const))("%s: UNSUPPORTED_MODEL naming the node and the reason", async (_name, row) => {
    const bytes = buildModel(row.spec);
    const e = await failure(() => GradientSession.create(bytes, "y", { threads: 1 }));
    const { opType, opset, nodeName } = row.node;
    expect(e.code).toBe("UNSUPPORTED_MODEL");
    expect(e.message).toBe(`stage 'y' cannot be differentiated: no gradient rule for ${opType} (opset ${opset}, node '${nodeName}': ${row.reason})`);
    expect(e.details).toEqual({ unsupportedOps: [{ ...row.node, reason: row.reason }] });

    const model = decodeOnnxModel(bytes);
    expect([...ruleLimitations(model, await probeModel(model)).values()]).toEqual([{ ...row.node, reason: row.reason }]);
  });
});

describe("gradient graph options", () => {
  it("an unknown loss is INVALID_ARGUMENT naming the losses there are", async () => {
    const model = decodeOnnxModel(buildModel({ inputShape: [3], nodes: [n1("Tanh", ["x"])], outputs: ["y"] }));
    const probe = await probeModel(model);
    const e = await failure(async () => buildGradientGraph(model, probe, "y", { loss: "l1" as never }));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe('loss: expected one of "normalizedL2", "mse", "crossEntropy", got "l1"');
  });
});
