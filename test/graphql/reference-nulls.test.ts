import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

// Issues 12 (items 1-2) and 13 (item 4) through the API: a reference null, a synthesis that names it, the typed
// certificate / config / history of its metamer, and the per-stage certificate summary.
let t: TestApp;
let key: string;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let referenceSetId: string;
let stimulusIds: string[];

beforeAll(async () => {
  t = await startTestApp();
  const created = await t.createGroupWithKey("typed-lab", "MEMBER");
  key = created.key;
  const ctx = { groupId: created.groupId, role: "ADMIN" as const, apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const natural = fixtureFloat32("lenet.x_nat.f32");
  referenceSetId = (await addImageSet(t.services, ctx, lenetId, await imageVariants(natural, [1, 1, 28, 28], 10), "train")).set.id;
  stimulusIds = (await addImageSet(t.services, ctx, lenetId, (await imageVariants(natural, [1, 1, 28, 28], 12)).slice(10), "test")).stimuli.map((s) => s.id);
  worker = inProcessWorker(t);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

describe("reference nulls and typed certificates (GraphQL)", () => {
  it("creates a reference null, synthesizes against it, and reads the typed certificate, config and history", async () => {
    const made = await t.gql(
      `mutation($i: CreateReferenceNullInput!) { createReferenceNull(input: $i) { id stage status n seed underpowered augmentation { cropMinScale flip jitter } } }`,
      { i: { modelId: lenetId, setId: referenceSetId, stages: ["fc1_relu"], augmentation: { cropMinScale: 0.9, jitter: 0.05 }, n: 1_000, seed: 3 } },
      key,
    );
    expect(made.errors).toBeUndefined();
    const row = made.data.createReferenceNull[0];
    expect(row).toMatchObject({ stage: LENET_STAGES.fc1_relu, status: "PENDING", n: 1_000, seed: 3, underpowered: true, augmentation: { cropMinScale: 0.9, flip: false, jitter: 0.05 } });
    await worker.drain();
    const ready = await t.gql(`query($id: ID!) { referenceNull(id: $id) { status measured maxima { spearman pearson snr } } }`, { id: row.id }, key);
    expect(ready.data.referenceNull).toMatchObject({ status: "READY", measured: 1_000 });

    const batch = await t.gql(
      `mutation($i: SynthesizeMetamersInput!) { synthesizeMetamers(input: $i) { id synthesisConfig { recipe rounds stepsPerRound nullSource { kind referenceNullId setId n seed } } } }`,
      { i: { modelId: lenetId, stages: ["fc1_relu"], stimulusIds: stimulusIds.slice(0, 1), config: { rounds: 1, stepsPerRound: 4, historyEvery: 2 }, nullSource: { referenceNullId: row.id } } },
      key,
    );
    expect(batch.errors).toBeUndefined();
    expect(batch.data.synthesizeMetamers.synthesisConfig).toEqual({
      recipe: "FEATHER_2023", rounds: 1, stepsPerRound: 4, nullSource: { kind: "REFERENCE", referenceNullId: null, setId: referenceSetId, n: 1_000, seed: 3 },
    });
    await worker.drain();
    const jobs = await t.gql(`query($id: ID!) { synthesisBatch(id: $id) { jobs { metamer { id } } } }`, { id: batch.data.synthesizeMetamers.id }, key);
    const metamerId = jobs.data.synthesisBatch.jobs[0].metamer.id;
    const m = await t.gql(
      `query($id: ID!) { metamer(id: $id) {
         certificate passed
         validation { passed passedNull underpowered uninformative nullPairs nullSeed naturalLabel metamerLabel
           similarity { spearman pearson snr } nullMaxima { spearman pearson snr }
           metrics { metric value nullMax passed uninformative }
           nullSource { kind referenceNullId setId n seed augmentation { cropMinScale jitter } } }
         synthesisConfig { recipe rounds stepsPerRound historyEvery }
         historyPoints { iteration loss final stopReason }
         software { name version } } }`,
      { id: metamerId },
      key,
    );
    expect(m.errors).toBeUndefined();
    const { certificate, validation, historyPoints, software } = m.data.metamer;
    // The typed certificate says what the stored JSON says.
    expect(validation.passed).toBe(certificate.passed);
    expect(validation.passed).toBe(m.data.metamer.passed);
    expect(validation.similarity.spearman).toBeCloseTo(certificate.similarity.spearman, 12);
    expect(validation.metrics.map((x: { metric: string }) => x.metric)).toEqual(["spearman", "pearson", "snr"]);
    expect(validation.metrics[1].passed).toBe(certificate.metrics.pearson.passed);
    expect(validation).toMatchObject({ nullPairs: 1_000, nullSeed: 3, underpowered: true, nullSource: { kind: "REFERENCE", referenceNullId: row.id, setId: referenceSetId, n: 1_000, seed: 3, augmentation: { cropMinScale: 0.9, jitter: 0.05 } } });
    expect(validation.nullMaxima.spearman).toBeCloseTo(ready.data.referenceNull.maxima.spearman, 12);
    expect(m.data.metamer.synthesisConfig).toEqual({ recipe: "FEATHER_2023", rounds: 1, stepsPerRound: 4, historyEvery: 2 });
    expect(historyPoints.map((h: { iteration: number }) => h.iteration)).toEqual([1, 2, 4, 4]);
    expect(historyPoints.at(-1)).toMatchObject({ final: true, stopReason: expect.any(String) });
    expect(software.map((s: { name: string }) => s.name)).toContain("onnxruntime-node");

    const summary = await t.gql(`query($m: ID!) { certificateSummary(modelId: $m) { stage stageLabel metamers passed uninformative passedUninformative underpowered } }`, { m: lenetId }, key);
    expect(summary.data.certificateSummary).toEqual([
      { stage: LENET_STAGES.fc1_relu, stageLabel: "fc1_relu", metamers: 1, passed: validation.passed ? 1 : 0, uninformative: validation.uninformative.length > 0 ? 1 : 0, passedUninformative: validation.passed && validation.uninformative.length > 0 ? 1 : 0, underpowered: 1 },
    ]);
  });

  it("refuses an over-limit n before anything runs, naming the argument", async () => {
    const res = await t.gql(`mutation($i: CreateReferenceNullInput!) { createReferenceNull(input: $i) { id } }`, { i: { modelId: lenetId, setId: referenceSetId, n: 5_000_000 } }, key);
    expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0].message).toMatch(/n: expected an integer from 1 to 1000000/);
  });
});
