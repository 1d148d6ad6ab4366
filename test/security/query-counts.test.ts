import { getNamedType, isInputObjectType, isObjectType, type GraphQLInputType, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARGUMENT_LIMITS, COUNT_LIMITS } from "../../src/services/limits.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 items 2 and 8: count arguments beyond their documented maxima (recognizability(resamples: 3e8) killed
// the process; idiosyncrasy(resamples: 1e7) held every request for 455 s) and negative counts (INTERNAL before) are
// refused with BAD_USER_INPUT naming the argument, the bounds and what arrived, before anything runs.
describe("count arguments are bounded (BAD_USER_INPUT, not a crash or INTERNAL)", () => {
  let t: TestApp;
  let key: string;
  let humanModel: string;
  let batchId: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("lab-counts", "MEMBER"));
    const imported = await t.gql(`mutation { importFeather2023 { models } }`, {}, key);
    expect(imported.errors).toBeUndefined();
    const models = await t.gql(`{ models(first: 100, filter: { name: "resnet50" }) { edges { node { id } } } }`, {}, key);
    humanModel = models.data.models.edges[0].node.id;
    // A batch row to page through (jobs(first:, offset:) are field arguments of a batch).
    const me = await t.gql(`{ me { groupId } }`, {}, key);
    batchId = (await t.store.db.synthesisBatch.create({
      data: { groupId: me.data.me.groupId, modelId: humanModel, config: {}, seed: 0 },
    })).id;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  const expectRefused = (res: Awaited<ReturnType<TestApp["gql"]>>, argument: string, max: number, got: string) => {
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe("BAD_USER_INPUT");
    expect(res.status).toBe(400);
    expect(res.errors![0].message).toContain(`${argument}: expected an integer from`);
    expect(res.errors![0].message).toContain(`to ${max}`);
    expect(res.errors![0].message).toContain(`got ${got}`);
    expect(res.data ?? null).toBeNull();
  };

  it("recognizability(resamples: 300000000) is refused before any resampling", async () => {
    const started = performance.now();
    const res = await t.gql(`query($m: ID!) { recognizability(modelId: $m, stage: "FINAL", observer: HUMAN, resamples: 300000000) { mean } }`, { m: humanModel }, key);
    expectRefused(res, "resamples", COUNT_LIMITS.resamples.max, "300000000");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("idiosyncrasy(resamples: 10000000) and humanVsModel(permutations: 100000000) are refused, also through variables", async () => {
    const a = await t.gql(`query($r: Int!) { idiosyncrasy(modality: VISION, resamples: $r) { n } }`, { r: 10_000_000 }, key);
    expectRefused(a, "resamples", COUNT_LIMITS.resamples.max, "10000000");
    const b = await t.gql(`query($m: ID!) { humanVsModel(modelId: $m, permutations: 100000000) { permutations } }`, { m: humanModel }, key);
    expectRefused(b, "permutations", COUNT_LIMITS.permutations.max, "100000000");
    const c = await t.gql(`query($m: ID!) { compareRecognizability(modelA: $m, modelB: $m, permutations: 0) { permutations } }`, { m: humanModel }, key);
    expectRefused(c, "permutations", COUNT_LIMITS.permutations.max, "0");
  });

  it("negative counts: resamples: -5, seed: -1, jobs(first: -5), jobs(offset: -1), models(first: -1) and first: 100000", async () => {
    expectRefused(
      await t.gql(`query($m: ID!) { recognizability(modelId: $m, stage: "FINAL", observer: HUMAN, resamples: -5) { mean } }`, { m: humanModel }, key),
      "resamples", COUNT_LIMITS.resamples.max, "-5",
    );
    expectRefused(
      await t.gql(`query($m: ID!) { humanVsModel(modelId: $m, seed: -1) { seed } }`, { m: humanModel }, key),
      "seed", COUNT_LIMITS.seed.max, "-1",
    );
    expectRefused(await t.gql(`query($b: ID!) { synthesisBatch(id: $b) { jobs(first: -5) { id } } }`, { b: batchId }, key), "first", COUNT_LIMITS.jobsFirst.max, "-5");
    expectRefused(await t.gql(`query($b: ID!) { synthesisBatch(id: $b) { jobs(offset: -1) { id } } }`, { b: batchId }, key), "offset", COUNT_LIMITS.jobsOffset.max, "-1");
    expectRefused(await t.gql(`{ models(first: -1) { totalCount } }`, {}, key), "first", COUNT_LIMITS.pageFirst.max, "-1");
    expectRefused(await t.gql(`query($f: Int) { stimulusSets(first: $f) { totalCount } }`, { f: 100_000 }, key), "first", COUNT_LIMITS.pageFirst.max, "100000");
  });

  it("counts inside input objects: synthesizeMetamers config.rounds and inputShape elements", async () => {
    const res = await t.gql(
      `mutation($i: SynthesizeMetamersInput!) { synthesizeMetamers(input: $i) { id } }`,
      { i: { modelId: humanModel, stages: ["x"], stimulusIds: [humanModel], config: { rounds: -3 } } },
      key,
    );
    expectRefused(res, "input.config.rounds", COUNT_LIMITS.rounds.max, "-3");
    const shape = await t.gql(
      `mutation { addStimuli(input: { setId: "${humanModel}", items: [], inputShape: [1, -28, 28] }) { id } }`,
      {},
      key,
    );
    expectRefused(shape, "input.inputShape[1]", COUNT_LIMITS.inputDim.max, "-28");
  });

  it("counts within their limits still work (the defaults, and the maxima)", async () => {
    const res = await t.gql(
      `query($m: ID!, $b: ID!) {
         recognizability(modelId: $m, stage: "FINAL", observer: HUMAN, resamples: 10000) { n bootstrap { resamples } }
         synthesisBatch(id: $b) { jobs(first: 1000, offset: 1000000) { id } }
         models(first: 500) { totalCount } }`,
      { m: humanModel, b: batchId },
      key,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.recognizability.bootstrap.resamples).toBe(10_000);
    expect(res.data.synthesisBatch.jobs).toEqual([]);
  });

  it("every Int argument and Int input field of the schema has a row in the limits table", () => {
    const schema: GraphQLSchema = t.app.schema;
    const missing: string[] = [];
    const isInt = (type: GraphQLInputType) => getNamedType(type).name === "Int";
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__")) continue;
      if (isObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          for (const arg of field.args) if (isInt(arg.type) && !ARGUMENT_LIMITS[`${type.name}.${field.name}.${arg.name}`]) missing.push(`${type.name}.${field.name}.${arg.name}`);
        }
      } else if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) if (isInt(field.type) && !ARGUMENT_LIMITS[`${type.name}.${field.name}`]) missing.push(`${type.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
    // And every row names a coordinate that exists (a renamed argument must not leave a dead row behind).
    const coordinates = new Set<string>();
    for (const type of Object.values(schema.getTypeMap())) {
      if (isObjectType(type)) for (const f of Object.values(type.getFields())) for (const a of f.args) coordinates.add(`${type.name}.${f.name}.${a.name}`);
      if (isInputObjectType(type)) for (const f of Object.values(type.getFields())) coordinates.add(`${type.name}.${f.name}`);
    }
    expect(Object.keys(ARGUMENT_LIMITS).filter((c) => !coordinates.has(c))).toEqual([]);
  });
});
