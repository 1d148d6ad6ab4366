// Issue 10 item 3: a 123-byte Expand to 20000x20000 took 3.4 GB during shape discovery. Registration refuses it
// from its static shapes before running it; a model whose memory only shows at run time is stopped by the
// inspecting process's memory limit.
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { decodeOnnxModel, estimateStaticTensors, ModelInspector } from "../../src/engine/index.js";
import { DataType } from "../../src/engine/onnx/proto.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { encode, expandBombModel } from "./onnx-hostile-models.js";
import { onnx } from "../../src/engine/onnx/proto.js";
import { int64Tensor } from "../../src/engine/onnx/tensor.js";

const REGISTER = `mutation($input: RegisterModelInput!) { registerModel(input: $input) { id } }`;
const MiB = 1024 * 1024;

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("bombers", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

it("refuses the 123-byte Expand to 20000x20000 from its static shapes, naming the tensor and the budget", async () => {
  const model = expandBombModel(20000);
  expect(model.byteLength).toBeLessThan(130);
  const est = estimateStaticTensors(decodeOnnxModel(model));
  expect(est.largest).toMatchObject({ name: "y", opType: "Expand", shape: [20000, 20000], bytes: 20000 * 20000 * 4 });
  const before = await countRows(t.store);
  const r = await t.gql(REGISTER, { input: { name: "bomb", modality: "IMAGE", data: Buffer.from(model).toString("base64") } }, key);
  expect(r.errors?.[0].extensions?.code).toBe("UNSUPPORTED_MODEL");
  expect(r.errors?.[0].message).toBe(
    "the model's intermediate tensors would take at least 1526 MiB (largest: 'y' from Expand, shape [20000, 20000], 1526 MiB); " +
      "the memory budget for inspecting a model is 1024 MiB",
  );
  expect(await countRows(t.store)).toEqual(before);
});

it("follows shapes through ConstantOfShape, Tile, Reshape and Shape arithmetic", () => {
  const F = DataType.FLOAT;
  const vi = (name: string, dims?: number[]) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: F, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });
  const n = (opType: string, input: string[], output: string[]) => onnx.NodeProto.create({ name: output[0], opType, input, output });
  const model = decodeOnnxModel(
    encode({
      name: "g",
      node: [
        n("Shape", ["x"], ["s"]), // [2] = [1, 8]
        n("Mul", ["s", "k"], ["s2"]), // [2] int64; its values are not followed...
        n("ConstantOfShape", ["s2"], ["u"]), // ...so this shape is unknown
        n("ConstantOfShape", ["big"], ["c"]), // [1000, 1] floats
        n("Tile", ["x", "reps"], ["tiled"]), // [1*10, 8*100]
        n("Reshape", ["tiled", "flat"], ["r"]), // [8000]
        n("Add", ["r", "c"], ["y"]), // broadcast [1000, 8000]
      ],
      initializer: [int64Tensor("k", [1], [2]), int64Tensor("big", [2], [1000, 1]), int64Tensor("reps", [2], [10, 100]), int64Tensor("flat", [1], [-1])],
      input: [vi("x", [1, 8])],
      output: [vi("y")],
    }),
  );
  const est = estimateStaticTensors(model);
  expect(est.largest).toMatchObject({ name: "y", shape: [1000, 8000], bytes: 32e6 });
  // Shape 16 + Mul 16 + ConstantOfShape 4000 + Tile 32000 + Reshape 32000 + Add 32e6
  expect(est.totalBytes).toBe(16 + 16 + 4000 + 32000 + 32000 + 32e6);
  expect(est.unknown).toBe(1);
});

it("stops a model whose memory shows only at run time at the memory limit and kills the child", async () => {
  // The static check is off here (a huge budget), so onnxruntime really starts to fill 1.6 GB.
  const inspector = new ModelInspector({ timeoutMs: 60_000, memoryBytes: 512 * MiB, staticBudgetBytes: 2 ** 50, maxModelBytes: 1024 * MiB });
  try {
    await expect(inspector.inspect(expandBombModel(20000))).rejects.toMatchObject({
      code: "UNSUPPORTED_MODEL",
      message: expect.stringMatching(/^shape discovery exceeded its memory limit of 512 MiB \(.*\); the model was refused$/),
    });
    expect(inspector.pid).toBeUndefined();
    // and the next model gets a fresh child
    const ok = await inspector.inspect(expandBombModel(100));
    expect(ok.layers.map((l) => l.shape)).toEqual([[100, 100]]);
  } finally {
    await inspector.close();
  }
});
