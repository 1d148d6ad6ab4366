import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { integerInputModel, twoInputModel } from "../helpers/onnx-models.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const fixtures = AUTODIFF_FIXTURES;
const FIXTURE_MODELS = ["mlp", "lenet", "alexnet_mini", "resnet_mini", "resnet_mini_bn", "mobilenet_v2_mini", "vit_tiny", "cochnet"];

interface Manifest {
  input: string;
  input_shape: number[];
  input_range: [number, number];
  opset: number;
  sha256: string;
  arrays: Record<string, { file: string; shape: number[] }>;
  stages: { label: string; tensor: string; producer_op: string; target: string }[];
}

const manifest = async (name: string): Promise<Manifest> => JSON.parse(await readFile(path.join(fixtures, `${name}.json`), "utf8"));
const onnxBase64 = async (name: string) => (await readFile(path.join(fixtures, `${name}.onnx`))).toString("base64");

const REGISTER = `
  mutation($input: RegisterModelInput!) {
    registerModel(input: $input) {
      id name version sha256 opset inputName inputShape inputRange modality stageLabels
      training { regime norm epsilon }
      layers { name label shape producerOp order differentiable unsupportedOps { opType } }
    }
  }`;

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("models-lab", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

describe("registerModel builds the layer catalogue", () => {
  it.each(FIXTURE_MODELS)("%s: every reference stage appears with the shape of its .target array", async (name) => {
    const m = await manifest(name);
    const modality = name === "cochnet" ? "AUDIO" : "IMAGE";
    const r = await t.gql(REGISTER, { input: { name, modality, data: await onnxBase64(name) } }, key);
    expect(r.errors).toBeUndefined();
    const model = r.data.registerModel;
    expect(model.sha256).toBe(m.sha256);
    expect(model.opset).toBe(m.opset);
    expect(model.inputName).toBe(m.input);
    expect(model.inputShape).toEqual(m.input_shape);
    expect(model.inputRange).toEqual(m.input_range);
    const byName = new Map<string, any>(model.layers.map((l: any) => [l.name, l]));
    for (const stage of m.stages) {
      const layer = byName.get(stage.tensor);
      expect(layer, `${name}: stage ${stage.label} (${stage.tensor})`).toBeDefined();
      expect(layer.shape).toEqual(m.arrays[`${stage.label}.target`].shape);
      expect(layer.producerOp).toBe(stage.producer_op);
    }
    // topological order: strictly increasing positions, every layer floating point with a static shape
    const orders = model.layers.map((l: any) => l.order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    expect(model.layers.every((l: any) => l.shape.every((d: number) => d > 0))).toBe(true);
  });

  it("makes a new immutable version when the same name is registered again, with stage labels", async () => {
    const m = await manifest("resnet_mini");
    const layer3 = m.stages.find((s) => s.tensor.includes("layer3"))!.tensor;
    const input = {
      name: "resnet-versions",
      modality: "IMAGE",
      data: await onnxBase64("resnet_mini"),
      classLabels: Array.from({ length: 10 }, (_, i) => `c${i}`),
      training: { regime: "ADVERSARIAL", norm: "L2", epsilon: 3 },
      stageLabels: { layer3 },
    };
    const v1 = await t.gql(REGISTER, { input }, key);
    // The same file under the same name returns v1 (issue 13) unless a new version is asked for.
    const v2 = await t.gql(REGISTER, { input: { ...input, forceNewVersion: true } }, key);
    expect(v1.errors).toBeUndefined();
    expect([v1.data.registerModel.version, v2.data.registerModel.version]).toEqual([1, 2]);
    expect(v2.data.registerModel.id).not.toBe(v1.data.registerModel.id);
    expect(v2.data.registerModel.training).toEqual({ regime: "ADVERSARIAL", norm: "L2", epsilon: 3 });
    expect(v2.data.registerModel.stageLabels).toEqual({ layer3 });
    const labelled = v2.data.registerModel.layers.filter((l: any) => l.label);
    expect(labelled).toEqual([expect.objectContaining({ name: layer3, label: "layer3" })]);

    const listed = await t.gql(
      `query($f: ModelFilter) { models(first: 1, filter: $f) { totalCount edges { cursor node { id version } } pageInfo { hasNextPage endCursor } } }`,
      { f: { name: "resnet-versions" } },
      key,
    );
    expect(listed.data.models.totalCount).toBe(2);
    expect(listed.data.models.edges[0].node.version).toBe(2);
    expect(listed.data.models.pageInfo.hasNextPage).toBe(true);
    const next = await t.gql(
      `query($after: String) { models(first: 5, after: $after, filter: { name: "resnet-versions" }) { edges { node { version } } pageInfo { hasNextPage } } }`,
      { after: listed.data.models.pageInfo.endCursor },
      key,
    );
    expect(next.data.models.edges.map((e: any) => e.node.version)).toEqual([1]);
    expect(next.data.models.pageInfo.hasNextPage).toBe(false);
    const bad = await t.gql(`{ models(first: 5, after: "bm90LWEtY3Vyc29y") { totalCount } }`, {}, key);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(bad.errors?.[0].message).toMatch(/after: expected a cursor/);
  });

  it("gives concurrent registrations of one name distinct versions", async () => {
    const data = await onnxBase64("cochnet");
    const results = await Promise.all(
      [0, 1, 2].map(() => t.gql(REGISTER, { input: { name: "cochnet-race", modality: "AUDIO", data } }, key)),
    );
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);
    expect(results.map((r) => r.data.registerModel.version).sort()).toEqual([1, 2, 3]);
  });

  it("registers through createUpload + PUT /uploads/<id>", async () => {
    const bytes = await readFile(path.join(fixtures, "lenet.onnx"));
    const { createHash } = await import("node:crypto");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const ticket = await t.gql(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url headers { name value } } }`,
      { i: { purpose: "MODEL", byteSize: bytes.length, sha256 } },
      key,
    );
    expect(ticket.errors).toBeUndefined();
    const { id, url } = ticket.data.createUpload;
    expect(url).toBe(`${t.url}/uploads/${id}`);
    const put = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${key}` }, body: bytes });
    expect(put.status).toBe(200);
    const r = await t.gql(REGISTER, { input: { name: "lenet-uploaded", modality: "IMAGE", uploadId: id } }, key);
    expect(r.errors).toBeUndefined();
    expect(r.data.registerModel.sha256).toBe(sha256);
    // the ONNX file is downloadable by its group
    const dl = await fetch(`${t.url}/blobs/${sha256}`, { headers: { authorization: `Bearer ${key}` } });
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(bytes)).toBe(true);
    // an upload is used once
    const again = await t.gql(REGISTER, { input: { name: "lenet-again", modality: "IMAGE", uploadId: id } }, key);
    expect(again.errors?.[0].extensions?.code).toBe("CONFLICT");
  });
});

describe("registerModel refuses bad input and leaves the database unchanged", () => {
  async function expectRefused(input: Record<string, unknown>, code: string, message: RegExp) {
    const before = await countRows(t.store);
    const r = await t.gql(REGISTER, { input: { name: "bad", modality: "IMAGE", ...input } }, key);
    expect(r.data?.registerModel ?? null).toBeNull();
    expect(r.errors?.[0].extensions?.code).toBe(code);
    expect(r.errors?.[0].message).toMatch(message);
    expect(await countRows(t.store)).toEqual(before);
  }

  it("random bytes -> INVALID_ONNX", async () => {
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    await expectRefused({ data: random.toString("base64") }, "INVALID_ONNX", /ONNX/i);
  });

  it("a truncated ONNX file -> INVALID_ONNX", async () => {
    const bytes = await readFile(path.join(fixtures, "lenet.onnx"));
    await expectRefused({ data: bytes.subarray(0, Math.floor(bytes.length / 2)).toString("base64") }, "INVALID_ONNX", /ONNX|truncated/i);
  });

  it("a model with two inputs -> UNSUPPORTED_MODEL", async () => {
    await expectRefused({ data: Buffer.from(twoInputModel()).toString("base64") }, "UNSUPPORTED_MODEL", /exactly one input.*'a', 'b'/);
  });

  it("a model with an integer input -> UNSUPPORTED_MODEL", async () => {
    await expectRefused({ data: Buffer.from(integerInputModel()).toString("base64") }, "UNSUPPORTED_MODEL", /float|int64/i);
  });

  it("a zero-byte file -> INVALID_ONNX", async () => {
    await expectRefused({ data: "" }, "INVALID_ONNX", /empty/);
  });

  it("a stage label pointing at a missing tensor -> BAD_USER_INPUT listing the known stages", async () => {
    const m = await manifest("lenet");
    await expectRefused(
      { data: await onnxBase64("lenet"), stageLabels: { layer9: "/layer9/Relu_output_0" } },
      "BAD_USER_INPUT",
      new RegExp(`stageLabels.layer9: no tensor named '/layer9/Relu_output_0'.*known stages: .*${m.stages[0].tensor.replace(/[/.]/g, "\\$&")}`),
    );
  });

  it("class labels that do not match the output -> BAD_USER_INPUT", async () => {
    await expectRefused({ data: await onnxBase64("lenet"), classLabels: ["a", "b", "c"] }, "BAD_USER_INPUT", /10 classes.*3 labels/);
  });

  it("an unknown uploadId -> NOT_FOUND", async () => {
    await expectRefused({ uploadId: "00000000-0000-4000-8000-000000000000" }, "NOT_FOUND", /no upload/);
  });

  it("a model over the size limit -> PAYLOAD_TOO_LARGE (inline, createUpload and PUT)", async () => {
    const small = await startTestApp({ config: { limits: { maxModelBytes: 10_000, maxStimulusBytes: 10_000, maxInlineBytes: 1_000_000 } } });
    try {
      const { key: k } = await small.createGroupWithKey("small-lab", "MEMBER");
      const before = await countRows(small.store);
      const big = await readFile(path.join(fixtures, "lenet.onnx"));
      expect(big.length).toBeGreaterThan(10_000);
      const inline = await small.gql(REGISTER, { input: { name: "big", modality: "IMAGE", data: big.toString("base64") } }, k);
      expect(inline.errors?.[0].extensions?.code).toBe("PAYLOAD_TOO_LARGE");
      expect(inline.errors?.[0].message).toMatch(/at most 10000 bytes/);
      const ticket = await small.gql(
        `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }`,
        { i: { purpose: "MODEL", byteSize: big.length, sha256: "0".repeat(64) } },
        k,
      );
      expect(ticket.errors?.[0].extensions?.code).toBe("PAYLOAD_TOO_LARGE");
      expect(await countRows(small.store)).toEqual(before);

      // a client that declares a small size and then streams more is cut off once the declared size is passed
      const ok = await small.gql(
        `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url } }`,
        { i: { purpose: "MODEL", byteSize: 5000, sha256: "0".repeat(64) } },
        k,
      );
      const afterTicket = await countRows(small.store);
      const put = await fetch(ok.data.createUpload.url, { method: "PUT", headers: { authorization: `Bearer ${k}` }, body: big });
      expect(put.status).toBe(413);
      expect(((await put.json()) as any).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
      expect(await countRows(small.store)).toEqual(afterTicket);
    } finally {
      await small.close();
    }
  });
});
