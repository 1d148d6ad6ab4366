// Issue 10 item 9 (part): onnxruntime's messages name absolute paths (its source tree, a model's path); clients get
// them without directories.
import { afterAll, beforeAll, expect, it } from "vitest";
import { ForwardSession, publicOrtMessage } from "../../src/engine/index.js";
import { buildModel } from "../engine/build-model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

const REGISTER = `mutation($input: RegisterModelInput!) { registerModel(input: $input) { id } }`;
/** an absolute POSIX path with at least one directory */
const ABSOLUTE = /(^|[\s:'"(=])\/[^\s/:'"()]+\//;
// Runs out of shape at run time: [1,4] cannot become [3]; onnxruntime's message names reshape_helper.h by full path.
const badReshape = () => buildModel({ inputShape: [1, 4], nodes: [{ op: "Reshape", inputs: ["x", "s"], outputs: ["y"] }], initializers: { s: { i64: [3] } }, outputs: ["y"] });

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("paths", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

it("registration reports onnxruntime's failure without absolute paths", async () => {
  const r = await t.gql(REGISTER, { input: { name: "reshape", modality: "IMAGE", data: Buffer.from(badReshape()).toString("base64") } }, key);
  expect(r.errors?.[0].extensions?.code).toBe("UNSUPPORTED_MODEL");
  const message = r.errors![0].message;
  expect(message).toMatch(/onnxruntime cannot run the model .*reshape_helper\.h:\d+ .*cannot be reshaped to the requested shape/);
  expect(message).not.toMatch(ABSOLUTE);
});

it("sessions' run errors are stripped too", async () => {
  const f = await ForwardSession.create(badReshape(), undefined, { threads: 1 });
  try {
    const e = await f.run(new Float32Array(4)).catch((err: Error) => err);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain("reshape_helper.h");
    expect((e as Error).message).not.toMatch(ABSOLUTE);
  } finally {
    await f.release();
  }
});

it.each([
  ["Load model from /home/lab/.data/models/x.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:180 Unknown model", "Load model from x.onnx failed:model.cc:180 Unknown model"],
  ["External data path does not exist: \"/srv/hub/.data/api-key\"", "External data path does not exist: \"api-key\""],
  ["C:\\Users\\lab\\model.onnx: bad", "model.onnx: bad"],
  ["first line\n/second/line/with/path", "first line"],
])("publicOrtMessage(%j)", (raw, clean) => {
  expect(publicOrtMessage(new Error(raw))).toBe(clean);
});
