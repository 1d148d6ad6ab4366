// Issue 10 item 1: reading the server's files through ONNX external data. The exfiltration model is built here: an
// initializer stored as external data at the relative path `.data/api-key`, whose bytes become tensor shapes
// (Slice -> Cast -> ConstantOfShape) that the layer catalogue would return.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { onnx as O } from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeOnnxModel, ForwardSession, inspectModel } from "../../src/engine/index.js";
import { makeAttribute } from "../../src/engine/onnx/attributes.js";
import { DataType, onnx } from "../../src/engine/onnx/proto.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { encode, exfiltrationModel, externalTensor, inSubgraph } from "./onnx-hostile-models.js";

const SECRET = "mh_admin_SeCrEt";
const REGISTER = `mutation($input: RegisterModelInput!) { registerModel(input: $input) { id layers { name shape } } }`;
const EXTERNAL = /external data is not accepted: .*re-export the model with the weights inside/;

let t: TestApp;
let key: string;
let dir: string;
let cwd: string;
beforeAll(async () => {
  // A working directory laid out like the server's, with a secret where the attack looks for it.
  cwd = process.cwd();
  dir = mkdtempSync(path.join(os.tmpdir(), "exfiltration-"));
  mkdirSync(path.join(dir, ".data"));
  writeFileSync(path.join(dir, ".data", "api-key"), SECRET);
  process.chdir(dir);
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("attackers", "MEMBER"));
});
afterAll(async () => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

describe("a model with external data", () => {
  it("is refused at registration with UNSUPPORTED_MODEL; no byte of the secret comes back and nothing is stored", async () => {
    const before = await countRows(t.store);
    const r = await t.gql(REGISTER, { input: { name: "innocent", modality: "IMAGE", data: Buffer.from(exfiltrationModel(".data/api-key", SECRET.length)).toString("base64") } }, key);
    expect(r.errors?.[0].extensions?.code).toBe("UNSUPPORTED_MODEL");
    expect(r.errors?.[0].message).toMatch(EXTERNAL);
    expect(r.errors?.[0].message).toContain("initializer tensor 'secret'");
    const body = JSON.stringify(r);
    expect(body).not.toContain(SECRET);
    // the secret's bytes as shapes: [109], [104], [95], ...
    expect(body).not.toMatch(/\[\s*109\s*\]/);
    expect(await countRows(t.store)).toEqual(before);
  });

  it("is refused by the in-process catalogue (the CLI's `layers`) in a directory where the file exists", async () => {
    await expect(inspectModel(exfiltrationModel(".data/api-key", SECRET.length))).rejects.toMatchObject({ code: "UNSUPPORTED_MODEL", message: expect.stringMatching(EXTERNAL) });
    await expect(ForwardSession.create(exfiltrationModel(".data/api-key", SECRET.length))).rejects.toMatchObject({ code: "UNSUPPORTED_MODEL" });
  });

  // Every place a TensorProto can sit in the file.
  const relu = (extraNodes: O.INodeProto[] = [], extra: Partial<O.IModelProto> = {}, graph: Partial<O.IGraphProto> = {}) =>
    encode(
      {
        name: "g",
        node: [...extraNodes, onnx.NodeProto.create({ name: "relu", opType: "Relu", input: ["x"], output: ["y"] })],
        input: [onnx.ValueInfoProto.create({ name: "x", type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } } })],
        output: [onnx.ValueInfoProto.create({ name: "y", type: { tensorType: { elemType: DataType.FLOAT } } })],
        ...graph,
      },
      extra,
    );
  const constant = (attr: O.IAttributeProto) => onnx.NodeProto.create({ name: "c", opType: "Constant", output: ["k"], attribute: [attr] });
  const AT = onnx.AttributeProto.AttributeType;
  const ext = () => externalTensor("w", "weights.bin", 4);
  const sparse = () => onnx.SparseTensorProto.create({ values: ext(), indices: onnx.TensorProto.create({ name: "i", dims: [4], dataType: DataType.INT64, int64Data: [0, 1, 2, 3] }), dims: [4] });
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["an initializer with only external_data entries (no data_location)", () => relu([], {}, { initializer: [externalTensor("w", "weights.bin", 4, false)] }), /initializer tensor 'w'/],
    ["a Constant node's tensor attribute", () => exfiltrationModel("api-key", 2, "constant"), /node 'Constant_secret' \(Constant\) attribute 'value' tensor 'secret_value'/],
    ["a Constant node's tensors attribute", () => relu([constant(onnx.AttributeProto.create({ name: "value", type: AT.TENSORS, tensors: [ext()] }))]), /attribute 'value' tensor 'w'/],
    ["a Constant node's sparse_tensor attribute", () => relu([constant(onnx.AttributeProto.create({ name: "sparse_value", type: AT.SPARSE_TENSOR, sparseTensor: sparse() }))]), /sparse values/],
    ["a sparse initializer", () => relu([], {}, { sparseInitializer: [sparse()] }), /sparse initializer \(sparse values\)/],
    ["an If branch's initializer", () => inSubgraph(externalTensor("b", "x.bin", 4), [onnx.NodeProto.create({ name: "cast", opType: "Cast", input: ["b"], output: ["bf"], attribute: [makeAttribute("to", { i: DataType.FLOAT })] })], "bf"), /then_branch' subgraph initializer tensor 'b'/],
    ["a local function's Constant", () => relu([], { functions: [{ name: "f", domain: "local", node: [constant(makeAttribute("value", { t: ext() }))] }] }), /function 'f' node 'c'/],
    ["a training-info graph", () => relu([], { trainingInfo: [{ initialization: { name: "init", initializer: [ext()] } }] }), /training_info\[0\]\.initialization initializer/],
  ];
  it.each(cases)("in %s is refused before onnxruntime sees it", (_, build, where) => {
    expect(() => decodeOnnxModel(build())).toThrow(EXTERNAL);
    expect(() => decodeOnnxModel(build())).toThrow(where);
  });
});
