// The layer catalogue and the model checks the registry relies on: shapes, error codes, coverage per layer.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EngineError } from "../../src/engine/index.js";
import { checkDifferentiable, decodeOnnxModel, GradientSession, inspectModel } from "../../src/engine/index.js";
import { DataType } from "../../src/engine/onnx/proto.js";
import { SeededRandom } from "../../src/engine/random.js";
import { buildModel } from "./build-model.js";
import { FIXTURE_DIR, fixtureNames, loadManifest, modelBytes } from "./fixture-data.js";

async function codeOf(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof EngineError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected an EngineError");
}

describe("inspectModel", () => {
  it.each(fixtureNames())("%s: stage shapes and producers equal the manifest's, all differentiable", async (name) => {
    const m = loadManifest(name);
    const { summary, layers } = await inspectModel(modelBytes(m));
    expect(summary.inputName).toBe(m.input);
    expect(summary.inputShape).toEqual(m.input_shape);
    expect(summary.opset).toBe(m.opset);
    const byName = new Map(layers.map((l) => [l.name, l]));
    for (const stage of m.stages) {
      const layer = byName.get(stage.tensor);
      expect(layer, `${name}: layer ${stage.tensor}`).toBeDefined();
      expect(layer!.shape).toEqual(m.arrays[stage.target].shape);
      expect(layer!.producerOp).toBe(stage.producer_op);
      expect(layer!.differentiable).toBe(true);
      expect(layer!.unsupportedOps).toEqual([]);
    }
    // topological positions are increasing and the graph outputs are layers too
    const orders = layers.map((l) => l.order);
    expect([...orders].sort((a, b) => a - b)).toEqual(orders);
    for (const out of summary.outputNames) expect(byName.has(out)).toBe(true);
  });
});

describe("decodeOnnxModel rejects bad input with a code", () => {
  it("random bytes: INVALID_ONNX", async () => {
    const rng = new SeededRandom(3);
    const bytes = Uint8Array.from({ length: 4096 }, () => rng.nextInt(256));
    const { code, message } = await codeOf(() => decodeOnnxModel(bytes));
    expect(code).toBe("INVALID_ONNX");
    expect(message).toMatch(/expected an ONNX model/);
  });

  it("a truncated file: INVALID_ONNX", async () => {
    const full = readFileSync(path.join(FIXTURE_DIR, "lenet.onnx"));
    const { code } = await codeOf(() => decodeOnnxModel(new Uint8Array(full.subarray(0, Math.floor(full.length * 0.6)))));
    expect(code).toBe("INVALID_ONNX");
    expect((await codeOf(() => inspectModel(new Uint8Array(full.subarray(0, 100))))).code).toBe("INVALID_ONNX");
  });

  it("two inputs: UNSUPPORTED_MODEL naming both", async () => {
    const bytes = buildModel({
      inputs: [
        { name: "a", shape: [1, 4] },
        { name: "b", shape: [1, 4] },
      ],
      nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["y"] }],
      outputs: ["y"],
    });
    const { code, message } = await codeOf(() => decodeOnnxModel(bytes));
    expect(code).toBe("UNSUPPORTED_MODEL");
    expect(message).toMatch(/exactly one input.*found 2.*'a'.*'b'/);
  });

  it("integer input: UNSUPPORTED_MODEL naming the type", async () => {
    const bytes = buildModel({
      inputs: [{ name: "tokens", shape: [1, 8], elemType: DataType.INT64 }],
      nodes: [{ op: "Cast", inputs: ["tokens"], outputs: ["y"], attrs: { to: { i: DataType.FLOAT } } }],
      outputs: ["y"],
    });
    const { code, message } = await codeOf(() => decodeOnnxModel(bytes));
    expect(code).toBe("UNSUPPORTED_MODEL");
    expect(message).toMatch(/float32.*INT64/);
  });

  it("non-static input shape: UNSUPPORTED_MODEL showing the symbolic dimension", async () => {
    const bytes = buildModel({ inputs: [{ name: "x", shape: ["batch", 3] }], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }], outputs: ["y"] });
    const { code, message } = await codeOf(() => decodeOnnxModel(bytes));
    expect(code).toBe("UNSUPPORTED_MODEL");
    expect(message).toMatch(/static shape.*\[batch,3\]/);
  });
});

describe("coverage: ops without a rule affect only the layers behind them", () => {
  // x -> Relu(r) -> Tanh(t)                       (supported branch)
  //        r -> Cos(c) -> Sin(s) -> Add(s, r)=u -> Sigmoid(y)   (Cos and Sin have no rule)
  const bytes = buildModel({
    inputShape: [1, 6],
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Tanh", inputs: ["r"], outputs: ["t"] },
      { op: "Cos", inputs: ["r"], outputs: ["c"] },
      { op: "Sin", inputs: ["c"], outputs: ["s"] },
      { op: "Add", inputs: ["s", "r"], outputs: ["u"] },
      { op: "Sigmoid", inputs: ["u"], outputs: ["y"] },
    ],
    outputs: ["t", "y"],
  });

  it("marks exactly the affected layers and names every missing op", async () => {
    const { layers } = await inspectModel(bytes);
    const status = Object.fromEntries(layers.map((l) => [l.name, l.differentiable]));
    expect(status).toEqual({ r: true, t: true, c: false, s: false, u: false, y: false });
    const y = layers.find((l) => l.name === "y")!;
    expect(y.unsupportedOps.map((u) => [u.opType, u.opset, u.nodeName])).toEqual([
      ["Cos", 17, "Cos_2"],
      ["Sin", 17, "Sin_3"],
    ]);
    expect(layers.find((l) => l.name === "c")!.unsupportedOps.map((u) => u.opType)).toEqual(["Cos"]);
    expect(checkDifferentiable(decodeOnnxModel(bytes), "t")).toEqual([]);
  });

  it("a gradient session for an affected stage is UNSUPPORTED_MODEL listing every op; others still work", async () => {
    const { code, message } = await codeOf(() => GradientSession.create(bytes, "y", { threads: 1 }));
    expect(code).toBe("UNSUPPORTED_MODEL");
    expect(message).toMatch(/Cos \(opset 17, node 'Cos_2'\).*Sin \(opset 17, node 'Sin_3'\)/);
    const ok = await GradientSession.create(bytes, "t", { threads: 1 });
    const r = await ok.run(Float32Array.of(0.5, -1, 2, 0.1, -0.3, 1), Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
    expect(r.grad.length).toBe(6);
    expect(r.grad[1]).toBe(0); // negative input: Relu blocks the gradient
    await ok.release();
  });

  it("custom-domain ops are reported, shape-only subgraphs do not block the path", async () => {
    const custom = buildModel({
      inputShape: [2, 3],
      nodes: [
        { op: "Shape", inputs: ["x"], outputs: ["shp"] },
        { op: "ConstantOfShape", inputs: ["shp"], outputs: ["ones"], attrs: { value: { t: { dims: [1], dataType: DataType.FLOAT, floatData: [1] } } } },
        { op: "Mul", inputs: ["x", "ones"], outputs: ["m"] },
        { op: "FancyOp", inputs: ["m"], outputs: ["y"], domain: "com.example" },
      ],
      outputs: ["y"],
      extraOpsets: { "com.example": 1 },
    });
    const model = decodeOnnxModel(custom);
    expect(checkDifferentiable(model, "m")).toEqual([]);
    expect(checkDifferentiable(model, "y")).toEqual([{ opType: "FancyOp", opset: 1, nodeName: "FancyOp_3", reason: "op of domain 'com.example'" }]);
    // onnxruntime cannot run an unknown custom op at all, so the catalogue refuses the model with a code
    const { code, message } = await codeOf(() => inspectModel(custom));
    expect(code).toBe("UNSUPPORTED_MODEL");
    expect(message).toMatch(/onnxruntime cannot load the model/);
  });

  it("an unknown stage is INVALID_ARGUMENT naming it", async () => {
    const { code, message } = await codeOf(() => checkDifferentiable(decodeOnnxModel(bytes), "layer9"));
    expect(code).toBe("INVALID_ARGUMENT");
    expect(message).toMatch(/no tensor is named 'layer9'/);
  });
});
