import { readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const fixtures = AUTODIFF_FIXTURES;

let t: TestApp;
let a: { groupId: string; key: string };
let b: { groupId: string; key: string };
let model: { id: string; sha256: string };
let set: { id: string };
let stimulus: { id: string; sha256: string };

beforeAll(async () => {
  t = await startTestApp();
  a = await t.createGroupWithKey("lab-a", "MEMBER");
  b = await t.createGroupWithKey("lab-b", "ADMIN");
  const data = (await readFile(path.join(fixtures, "mlp.onnx"))).toString("base64");
  const m = await t.gql(`mutation($i: RegisterModelInput!) { registerModel(input: $i) { id sha256 } }`, { i: { name: "mlp-a", modality: "IMAGE", data } }, a.key);
  model = m.data.registerModel;
  set = (await t.gql(`mutation { createStimulusSet(input: { name: "a-set", modality: IMAGE }) { id } }`, {}, a.key)).data.createStimulusSet;
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  const added = await t.gql(
    `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id sha256 } }`,
    { i: { setId: set.id, items: [{ label: "green", data: png.toString("base64"), filename: "g.png" }] } },
    a.key,
  );
  stimulus = added.data.addStimuli[0];
});
afterAll(async () => {
  await t?.close();
});

describe("two groups", () => {
  it("group A sees its own objects", async () => {
    const r = await t.gql(`query($m: ID!, $s: ID!, $x: ID!) { model(id: $m) { id } stimulusSet(id: $s) { id } stimulus(id: $x) { id } }`, { m: model.id, s: set.id, x: stimulus.id }, a.key);
    expect(r.data).toEqual({ model: { id: model.id }, stimulusSet: { id: set.id }, stimulus: { id: stimulus.id } });
    const dl = await fetch(`${t.url}/blobs/${model.sha256}`, { headers: { authorization: `Bearer ${a.key}` } });
    expect(dl.status).toBe(200);
  });

  it("a key of group B cannot read A's model, set or stimulus: they do not exist for it", async () => {
    const r = await t.gql(`query($m: ID!, $s: ID!, $x: ID!) { model(id: $m) { id } stimulusSet(id: $s) { id } stimulus(id: $x) { id } }`, { m: model.id, s: set.id, x: stimulus.id }, b.key);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ model: null, stimulusSet: null, stimulus: null });
  });

  it("a key of group B does not list A's models or sets", async () => {
    const r = await t.gql(`{ models { totalCount edges { node { id } } } stimulusSets { totalCount } }`, {}, b.key);
    expect(r.data.models).toEqual({ totalCount: 0, edges: [] });
    expect(r.data.stimulusSets.totalCount).toBe(0);
    const mine = await t.gql(`{ models { totalCount } stimulusSets { totalCount } }`, {}, a.key);
    expect(mine.data.models.totalCount).toBe(1);
    expect(mine.data.stimulusSets.totalCount).toBe(1);
  });

  it("a key of group B cannot download A's blobs (404, as for a missing blob) nor add to A's set", async () => {
    for (const sha of [model.sha256, stimulus.sha256]) {
      const res = await fetch(`${t.url}/blobs/${sha}`, { headers: { authorization: `Bearer ${b.key}` } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).errors[0].extensions.code).toBe("NOT_FOUND");
    }
    const missing = await fetch(`${t.url}/blobs/${"f".repeat(64)}`, { headers: { authorization: `Bearer ${b.key}` } });
    expect(missing.status).toBe(404);
    const add = await t.gql(`mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id } }`, { i: { setId: set.id, items: [{ label: "x", data: "AAAA" }] } }, b.key);
    expect(add.errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("blob downloads need a valid, unrevoked key", async () => {
    const anonymous = await fetch(`${t.url}/blobs/${model.sha256}`);
    expect(anonymous.status).toBe(401);
    const issued = await t.gql(`mutation { createApiKey(name: "temp", role: READER) { id key } }`, {}, b.key);
    const { id, key } = issued.data.createApiKey;
    await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id }, b.key);
    const revoked = await fetch(`${t.url}/blobs/${model.sha256}`, { headers: { authorization: `Bearer ${key}` } });
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as any).errors[0].message).toMatch(/revoked/);
    // a revoked key writes nothing
    const before = await countRows(t.store);
    const write = await t.gql(`mutation { createStimulusSet(input: { name: "late", modality: IMAGE }) { id } }`, {}, key);
    expect(write.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(write.errors?.[0].message).toMatch(/revoked/);
    expect(await countRows(t.store)).toEqual(before);
  });

  it("a READER key may read but not register", async () => {
    const reader = await t.gql(`mutation { createApiKey(name: "r", role: READER) { key } }`, {}, b.key);
    const r = await t.gql(`mutation { createStimulusSet(input: { name: "x", modality: IMAGE }) { id } }`, {}, reader.data.createApiKey.key);
    expect(r.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });
});
