import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { linearClassifier, registerModel } from "../recognition/fixture.js";

// The label-map API end to end (real HTTP, GraphQL, PostgreSQL): upload, attach, read back, and the errors a client sees.
describe("label maps over GraphQL", () => {
  let t: TestApp;
  let key: string;
  let modelId: string;
  const labels = Array.from({ length: 20 }, (_, i) => `n${1000 + i}`);

  beforeAll(async () => {
    t = await startTestApp();
    const g = await t.createGroupWithKey("lab-label-maps-api", "MEMBER");
    key = g.key;
    modelId = (await registerModel(t.store, g.groupId, "twenty-way", linearClassifier(41, 20), { labels })).id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const create = (name: string, json: string) =>
    t.gql(`mutation ($name: String!, $json: String!) { createLabelMap(name: $name, json: $json) { id name categoryNames categories categoryCount } }`, { name, json }, key);

  it("creates a map, attaches it to a model and reads it back on the model", async () => {
    const json = JSON.stringify({ categories: { dog: labels.slice(0, 5), cat: labels.slice(5, 10) } });
    const made = await create("two-way", json);
    expect(made.errors).toBeUndefined();
    expect(made.data.createLabelMap).toMatchObject({ name: "two-way", categoryNames: ["dog", "cat"], categoryCount: 2, categories: { dog: labels.slice(0, 5) } });
    const set = await t.gql(
      `mutation ($m: ID!, $l: ID) { setModelLabelMap(modelId: $m, labelMapId: $l) { id labelMap { name } } }`,
      { m: modelId, l: made.data.createLabelMap.id },
      key,
    );
    expect(set.errors).toBeUndefined();
    expect(set.data.setModelLabelMap).toEqual({ id: modelId, labelMap: { name: "two-way" } });
    const listed = await t.gql(`{ labelMaps { name } }`, {}, key);
    expect(listed.data.labelMaps).toEqual([{ name: "two-way" }]);
    // Detaching: the model answers in its own classes again.
    const cleared = await t.gql(`mutation ($m: ID!) { setModelLabelMap(modelId: $m, labelMapId: null) { labelMap { name } } }`, { m: modelId }, key);
    expect(cleared.data.setModelLabelMap.labelMap).toBeNull();
  });

  it("answers bad JSON, overlaps, unknown labels and a taken name with clear error codes", async () => {
    const broken = await create("broken", "{categories: ");
    expect(broken.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
    expect(broken.errors?.[0].message).toMatch(/json: expected JSON like .*does not parse/);
    const overlap = await create("overlap", JSON.stringify({ categories: { dog: [labels[0]], cat: [labels[0]] } }));
    expect(overlap.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(overlap.errors?.[0].message).toMatch(/class 'n1000' is in categories 'dog' and 'cat'/);
    const unknown = await create("unknown", JSON.stringify({ categories: { dog: ["n02085620"] } }));
    const attach = await t.gql(`mutation ($m: ID!, $l: ID) { setModelLabelMap(modelId: $m, labelMapId: $l) { id } }`, { m: modelId, l: unknown.data.createLabelMap.id }, key);
    expect(attach.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(attach.errors?.[0].message).toMatch(/lists 1 label\(s\) that are not classes of model 'twenty-way' \(20 classes\): 'n02085620'/);
    const again = await create("two-way", JSON.stringify({ categories: { dog: [labels[0]] } }));
    expect(again.errors?.[0].extensions?.code).toBe("CONFLICT");
  });
});
