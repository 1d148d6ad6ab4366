// Issue 13 items 7 and 8 through the API: registering with a normalization, re-registration returning the existing
// version, one stimulus-set name per group, the resize options of addStimuli, and model tags.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeOnnxModel, float32FromBytes, SeededRandom, wrapWithNormalization } from "../../src/engine/index.js";
import { sha256Hex } from "../../src/store/blob-store.js";
import { buildModel } from "../engine/build-model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** y = relu(conv3x3(x)): a tiny RGB model of the given input size. */
function rgbModel(size: number, seed = 1): Uint8Array {
  const rng = new SeededRandom(seed);
  return buildModel({
    inputShape: [1, 3, size, size],
    nodes: [
      { op: "Conv", inputs: ["x", "w"], outputs: ["conv"], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: "Relu", inputs: ["conv"], outputs: ["y"] },
    ],
    initializers: { w: { f32: Float32Array.from({ length: 2 * 3 * 9 }, () => rng.normal() * 0.3), dims: [2, 3, 3, 3] } },
    outputs: ["y"],
  });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** A PNG of `width` x `height` whose columns are red, green and blue thirds. */
async function stripes(width: number, height: number): Promise<string> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) px[(y * width + x) * 3 + Math.min(2, Math.floor((3 * x) / width))] = 255;
  return (await sharp(px, { raw: { width, height, channels: 3 } }).png().toBuffer()).toString("base64");
}

const REGISTER = `mutation($i: RegisterModelInput!) {
  registerModel(input: $i) { id name version sha256 originalSha256 normalization { mean std } tags layers { name producerOp } }
}`;
const CREATE_SET = `mutation($i: CreateStimulusSetInput!) { createStimulusSet(input: $i) { id name } }`;
const ADD = `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id shape tensors { shape sha256 } } }`;
const TAGS = `mutation($id: ID!, $tags: [String!]!) { setModelTags(modelId: $id, tags: $tags) { id tags } }`;

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("registry-lab", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

describe("registerModel with a normalization", () => {
  it("stores the wrapped file, records the normalization and the uploaded file's sha256, and lists the Sub/Div layers", async () => {
    const original = rgbModel(8);
    const r = await t.gql(REGISTER, { i: { name: "torchvision-like", modality: "IMAGE", data: b64(original), normalization: { mean: MEAN, std: STD } } }, key);
    expect(r.errors).toBeUndefined();
    const m = r.data.registerModel;
    const wrapped = wrapWithNormalization(original, { mean: MEAN, std: STD });
    expect(m.sha256).toBe(sha256Hex(wrapped));
    expect(m.originalSha256).toBe(sha256Hex(original));
    expect(m.normalization).toEqual({ mean: MEAN, std: STD });
    expect(m.layers.slice(0, 2).map((l: any) => l.producerOp)).toEqual(["Sub", "Div"]);
    // The stored file is the wrapped model.
    const stored = await t.store.blobs.get(m.sha256);
    expect(decodeOnnxModel(stored!).nodes.slice(0, 2).map((n) => n.opType)).toEqual(["Sub", "Div"]);
    // The catalogue shows it when the model is read again.
    const read = await t.gql(`query($id: ID!) { model(id: $id) { normalization { mean std } originalSha256 } }`, { id: m.id }, key);
    expect(read.data.model).toEqual({ normalization: { mean: MEAN, std: STD }, originalSha256: sha256Hex(original) });

    const plain = await t.gql(REGISTER, { i: { name: "plain", modality: "IMAGE", data: b64(original) } }, key);
    expect(plain.data.registerModel).toMatchObject({ normalization: null, originalSha256: null, sha256: sha256Hex(original) });
  });

  it("refuses a normalization that does not fit the input's channels, or a std <= 0", async () => {
    const data = b64(rgbModel(8));
    const short = await t.gql(REGISTER, { i: { name: "bad-norm", modality: "IMAGE", data, normalization: { mean: [0.5], std: [0.2] } } }, key);
    expect(short.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(short.errors?.[0].message).toMatch(/normalization\.mean: the model's input \[1,3,8,8\] has 3 channels .*got 1/);
    const zero = await t.gql(REGISTER, { i: { name: "bad-norm", modality: "IMAGE", data, normalization: { mean: MEAN, std: [0.2, 0.2, 0] } } }, key);
    expect(zero.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(zero.errors?.[0].message).toMatch(/normalization\.std\[2\]: expected a number > 0, got 0/);
  });
});

describe("re-registration and set names", () => {
  it("returns the existing version for an identical file under the same name, unless forceNewVersion", async () => {
    const data = b64(rgbModel(8, 2));
    const input = { name: "dedupe", modality: "IMAGE", data };
    const v1 = (await t.gql(REGISTER, { i: input }, key)).data.registerModel;
    const again = (await t.gql(REGISTER, { i: input }, key)).data.registerModel;
    expect(again.id).toBe(v1.id);
    expect(again.version).toBe(1);
    const forced = (await t.gql(REGISTER, { i: { ...input, forceNewVersion: true } }, key)).data.registerModel;
    expect(forced.version).toBe(2);
    // the same file with a normalization is another file: a new version
    const wrapped = (await t.gql(REGISTER, { i: { ...input, normalization: { mean: MEAN, std: STD } } }, key)).data.registerModel;
    expect(wrapped.version).toBe(3);
    // ...and registering that again returns it (the identity is the wrapped file's sha256)
    const wrappedAgain = (await t.gql(REGISTER, { i: { ...input, normalization: { mean: MEAN, std: STD } } }, key)).data.registerModel;
    expect(wrappedAgain.id).toBe(wrapped.id);
    const count = await t.gql(`{ models(filter: { name: "dedupe" }) { totalCount } }`, {}, key);
    expect(count.data.models.totalCount).toBe(3);
  });

  it("refuses stage labels that would make a stage argument ambiguous, as setStageLabels does", async () => {
    const data = b64(rgbModel(8, 4));
    const notLast = await t.gql(REGISTER, { i: { name: "labels", modality: "IMAGE", data, stageLabels: { final: "conv" } } }, key);
    expect(notLast.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(notLast.errors?.[0].message).toBe("stageLabels.final: 'final' may only label the last stage (y), as FINAL means the last stage; got stage conv");
    const natural = await t.gql(REGISTER, { i: { name: "labels", modality: "IMAGE", data, stageLabels: { natural: "conv" } } }, key);
    expect(natural.errors?.[0].message).toBe("stageLabels.natural: 'natural' is reserved (natural* names the natural stimuli)");
    const last = await t.gql(REGISTER, { i: { name: "labels", modality: "IMAGE", data, stageLabels: { final: "y" } } }, key);
    expect(last.errors).toBeUndefined();
  });

  it("refuses the same file under the same name with other labels or range, naming what changed and the way forward", async () => {
    const data = b64(rgbModel(8, 3));
    const input = { name: "relabel", modality: "IMAGE", data, inputRange: [0, 1], stageLabels: { c1: "conv" } };
    const v1 = (await t.gql(REGISTER, { i: input }, key)).data.registerModel;
    // the same description: the existing version comes back
    expect((await t.gql(REGISTER, { i: { ...input } }, key)).data.registerModel.id).toBe(v1.id);
    const relabelled = await t.gql(REGISTER, { i: { ...input, stageLabels: { first: "conv" } } }, key);
    expect(relabelled.errors?.[0].extensions?.code).toBe("CONFLICT");
    expect(relabelled.errors?.[0].message).toBe(
      `file: model relabel v1 is this same file with other stageLabels; pass forceNewVersion: true to register a new version, or change the labels with setStageLabels`,
    );
    const rescaled = await t.gql(REGISTER, { i: { ...input, inputRange: [0, 255] } }, key);
    expect(rescaled.errors?.[0].extensions).toMatchObject({ code: "CONFLICT", existingModelId: v1.id, changed: ["inputRange"] });
    const forced = (await t.gql(REGISTER, { i: { ...input, inputRange: [0, 255], forceNewVersion: true } }, key)).data.registerModel;
    expect(forced.version).toBe(2);
  });

  it("refuses a second stimulus set of the same name in the group, naming the existing set", async () => {
    const first = await t.gql(CREATE_SET, { i: { name: "natural images", modality: "IMAGE" } }, key);
    expect(first.errors).toBeUndefined();
    const second = await t.gql(CREATE_SET, { i: { name: "natural images", modality: "IMAGE" } }, key);
    expect(second.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(second.errors?.[0].message).toContain(`already has a stimulus set named 'natural images' (id ${first.data.createStimulusSet.id}`);
    // another group may use the name
    const { key: other } = await t.createGroupWithKey("other-registry-lab", "MEMBER");
    expect((await t.gql(CREATE_SET, { i: { name: "natural images", modality: "IMAGE" } }, other)).errors).toBeUndefined();
  });
});

describe("addStimuli resize options", () => {
  let big: string;
  let small: string;
  beforeAll(async () => {
    big = (await t.gql(REGISTER, { i: { name: "rgb224", modality: "IMAGE", data: b64(rgbModel(224)) } }, key)).data.registerModel.id;
    small = (await t.gql(REGISTER, { i: { name: "rgb8", modality: "IMAGE", data: b64(rgbModel(8)) } }, key)).data.registerModel.id;
  });

  it("refuses a 161x161 image for a 224x224 model by default, naming the option, and takes it with upscale", async () => {
    const setId = (await t.gql(CREATE_SET, { i: { name: "small photos", modality: "IMAGE" } }, key)).data.createStimulusSet.id;
    const items = [{ label: "a", filename: "small.png", data: await stripes(161, 161) }];
    const refused = await t.gql(ADD, { i: { setId, modelId: big, items } }, key);
    expect(refused.errors?.[0].extensions?.code).toBe("INVALID_STIMULUS");
    expect(refused.errors?.[0].message).toMatch(/161x161 pixels; the model input needs at least 224x224 .*resize: \{ upscale: true \}/);
    const taken = await t.gql(ADD, { i: { setId, modelId: big, items, resize: { upscale: true } } }, key);
    expect(taken.errors).toBeUndefined();
    expect(taken.data.addStimuli[0].shape).toEqual([1, 3, 224, 224]);
  });

  it("CENTER_CROP keeps the middle of a wide image; STRETCH keeps all of it", async () => {
    const setId = (await t.gql(CREATE_SET, { i: { name: "stripes", modality: "IMAGE" } }, key)).data.createStimulusSet.id;
    const data = await stripes(24, 8);
    const tensorOf = async (resize: object | null, filename: string) => {
      const r = await t.gql(ADD, { i: { setId, modelId: small, items: [{ label: "a", filename, data: filename.endsWith("2.png") ? await stripes(24, 9) : data }], resize } }, key);
      expect(r.errors).toBeUndefined();
      return float32FromBytes((await t.store.blobs.get(r.data.addStimuli[0].tensors[0].sha256))!);
    };
    const at = (x: Float32Array, c: number, row: number, col: number) => x[c * 64 + row * 8 + col];
    // default = CENTER_CROP: the middle 8x8 is green everywhere
    const crop = await tensorOf(null, "crop.png");
    for (const col of [0, 4, 7]) expect([at(crop, 0, 4, col), at(crop, 1, 4, col), at(crop, 2, 4, col)].map((v) => Math.round(v))).toEqual([0, 1, 0]);
    // STRETCH: red on the left, blue on the right
    const stretch = await tensorOf({ mode: "STRETCH" }, "stretch2.png");
    expect(at(stretch, 0, 4, 0)).toBeGreaterThan(0.9);
    expect(at(stretch, 2, 4, 0)).toBeLessThan(0.1);
    expect(at(stretch, 2, 4, 7)).toBeGreaterThan(0.9);
    expect(at(stretch, 0, 4, 7)).toBeLessThan(0.1);
  });
});

describe("model tags", () => {
  it("sets validated tags and filters models by tag and by any of several tags", async () => {
    const a = (await t.gql(REGISTER, { i: { name: "tagged-a", modality: "IMAGE", data: b64(rgbModel(8, 5)) } }, key)).data.registerModel.id;
    const b = (await t.gql(REGISTER, { i: { name: "tagged-b", modality: "IMAGE", data: b64(rgbModel(8, 6)) } }, key)).data.registerModel.id;
    expect((await t.gql(TAGS, { id: a, tags: ["resnet50", "adv.l2-3", "resnet50"] }, key)).data.setModelTags.tags).toEqual(["resnet50", "adv.l2-3"]);
    expect((await t.gql(TAGS, { id: b, tags: ["vit_b"] }, key)).data.setModelTags.tags).toEqual(["vit_b"]);

    const byTag = await t.gql(`{ models(filter: { tag: "resnet50" }) { edges { node { id } } } }`, {}, key);
    expect(byTag.data.models.edges.map((e: any) => e.node.id)).toEqual([a]);
    const anyOf = await t.gql(`{ models(filter: { tags: ["vit_b", "adv.l2-3"] }) { edges { node { id } } } }`, {}, key);
    expect(anyOf.data.models.edges.map((e: any) => e.node.id).sort()).toEqual([a, b].sort());

    const upper = await t.gql(TAGS, { id: a, tags: ["ResNet 50"] }, key);
    expect(upper.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(upper.errors?.[0].message).toMatch(/tags\[0\]: expected 1 to 64 characters of a-z, 0-9, '\.', '_', '-'; got "ResNet 50"/);
    const many = await t.gql(TAGS, { id: a, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, key);
    expect(many.errors?.[0].message).toBe("tags: at most 20 tags, got 21");
    const long = await t.gql(TAGS, { id: a, tags: ["x".repeat(65)] }, key);
    expect(long.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    // tags cleared
    expect((await t.gql(TAGS, { id: b, tags: [] }, key)).data.setModelTags.tags).toEqual([]);
  });
});
