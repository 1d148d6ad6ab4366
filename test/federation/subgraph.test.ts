// The hub's schema as a Federation 2 subgraph: the committed SDL is fresh, `_service { sdl }` is served (with a key)
// and composes with another hub's, and `_entities` resolves references through the same visibility as the queries.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printSubgraphFile, subgraphFile } from "../../src/graphql/print-schema.js";
import { COUNT_LIMITS } from "../../src/services/limits.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let a: TestApp;
let b: TestApp;
let ownerA: { key: string };
let otherA: { key: string };
let keyB: { key: string };
let model: { id: string; layers: { name: string }[] };
let set: { id: string };

beforeAll(async () => {
  [a, b] = await Promise.all([startTestApp({ config: { hubName: "labA" } }), startTestApp({ config: { hubName: "labB" } })]);
  ownerA = await a.createGroupWithKey("lab-a", "MEMBER");
  otherA = await a.createGroupWithKey("lab-a-neighbour", "READER");
  keyB = await b.createGroupWithKey("lab-b", "READER");
  const data = (await readFile(path.join(AUTODIFF_FIXTURES, "mlp.onnx"))).toString("base64");
  const m = await a.gql(`mutation($i: RegisterModelInput!) { registerModel(input: $i) { id layers { name } } }`, { i: { name: "mlp", modality: "IMAGE", data } }, ownerA.key);
  model = m.data.registerModel;
  set = (await a.gql(`mutation { createStimulusSet(input: { name: "s", modality: IMAGE }) { id } }`, {}, ownerA.key)).data.createStimulusSet;
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const SDL = `{ _service { sdl } }`;

describe("subgraph SDL", () => {
  it("subgraph.graphql equals the SDL the code builds (run `npm run schema:print` after changing types or resolvers)", async () => {
    expect(await readFile(subgraphFile, "utf8")).toBe(await printSubgraphFile());
  });

  it("declares Federation 2.3 and a key on every entity", async () => {
    const sdl = await printSubgraphFile();
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.3"/);
    for (const [type, key] of [
      ["Model", "id"],
      ["Layer", "modelId name"],
      ["StimulusSet", "id"],
      ["Stimulus", "id"],
      ["Metamer", "id"],
      ["SynthesisBatch", "id"],
      ["Study", "id"],
    ]) {
      expect(sdl).toMatch(new RegExp(`type ${type}\\n(\\s+@\\w+(\\(.*\\))?\\n)*\\s+@key\\(fields: "${key}"\\)`));
    }
  });

  it("_service { sdl } is served to a key holder, and refused without one", async () => {
    const r = await a.gql(SDL, {}, ownerA.key);
    expect(r.errors).toBeUndefined();
    expect(r.data._service.sdl).toMatch(/^\s*labA: HubQuery!/m);
    const anon = await a.gql(SDL);
    expect(anon.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(anon.errors?.[0].message).toMatch(/_service .*needs an API key or a partner token: missing API key/);
  });

  it("two hubs' SDLs compose with @apollo/composition: no errors, no hints; each hub is one namespace field", async () => {
    const [sa, sb] = await Promise.all([a.gql(SDL, {}, ownerA.key), b.gql(SDL, {}, keyB.key)]);
    const result = composeServices([
      { name: "labA", url: `${a.url}/graphql`, typeDefs: parse(sa.data._service.sdl) },
      { name: "labB", url: `${b.url}/graphql`, typeDefs: parse(sb.data._service.sdl) },
    ]);
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
    expect((result.hints ?? []).map((h) => h.toString())).toEqual([]);
    const api = result.schema!.toAPISchema().toGraphQLJSSchema();
    expect(Object.keys(api.getQueryType()!.getFields()).sort()).toEqual(["labA", "labB"]);
  });
});

describe("the hub's namespace field", () => {
  it("answers the same fields as the top level, under the same limits", async () => {
    const same = await a.gql(`{ labA { models { totalCount } } models { totalCount } }`, {}, ownerA.key);
    expect(same.errors).toBeUndefined();
    expect(same.data.labA.models).toEqual(same.data.models);
    const over = await a.gql(`{ labA { models(first: ${COUNT_LIMITS.pageFirst.max + 1}) { totalCount } } }`, {}, ownerA.key);
    expect(over.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(over.errors?.[0].message).toContain(`first: expected an integer from 1 to ${COUNT_LIMITS.pageFirst.max}`);
    // A page costs its size times its selection there too: 500 models x 25 layer lists is over the maximum.
    const fields = Array.from({ length: 25 }, (_, i) => `l${i}: layers { name }`).join(" ");
    const costly = await a.gql(`{ labA { models(first: 500) { edges { node { ${fields} } } } } }`, {}, ownerA.key);
    expect(costly.errors?.[0].message).toMatch(/^query: costs \d+, more than the maximum/);
  });
});

describe("_entities", () => {
  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
    __typename
    ... on Model { id name }
    ... on Layer { modelId name }
    ... on StimulusSet { id name }
  } }`;

  it("resolves the owner's references, with UUID ids (unique across hubs)", async () => {
    const layer = model.layers[0].name;
    const r = await a.gql(
      ENTITIES,
      { r: [{ __typename: "Model", id: model.id }, { __typename: "Layer", modelId: model.id, name: layer }, { __typename: "StimulusSet", id: set.id }] },
      ownerA.key,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data._entities).toEqual([
      { __typename: "Model", id: model.id, name: "mlp" },
      { __typename: "Layer", modelId: model.id, name: layer },
      { __typename: "StimulusSet", id: set.id, name: "s" },
    ]);
    expect(model.id).toMatch(UUID);
    expect(set.id).toMatch(UUID);
  });

  it("another group's private objects resolve to null, as if absent (the same rule as model(id))", async () => {
    const r = await a.gql(
      ENTITIES,
      { r: [{ __typename: "Model", id: model.id }, { __typename: "Layer", modelId: model.id, name: model.layers[0].name }, { __typename: "StimulusSet", id: set.id }] },
      otherA.key,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data._entities).toEqual([null, null, null]);
  });

  it("refuses more references than the limit, naming it", async () => {
    const max = COUNT_LIMITS.entityRepresentations.max;
    const reps = Array.from({ length: max + 1 }, () => ({ __typename: "Model", id: model.id }));
    const r = await a.gql(`query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`, { r: reps }, ownerA.key);
    expect(r.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(r.errors?.[0].message).toContain(`representations: expected an integer from 0 to ${max}`);
  });
});
