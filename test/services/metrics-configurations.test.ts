import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import { canonicalJson, configHash } from "../../src/services/metrics/config-hash.js";
import { NoDispatcher } from "../../src/services/ports.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, autodiffFixtures, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES } from "../helpers/synthesis-fixtures.js";

// Results by configuration (issue 12 item 3), stages by label (issue 13 item 2) and recognizer panels (issue 13
// item 3), through the real services: real synthesis and recognition jobs on the lenet fixture, real PostgreSQL
// (the tally triggers), nothing mocked.
const LABELS = ["a", ...Array.from({ length: 9 }, (_, i) => `class${i + 1}`)];
const FC1 = LENET_STAGES.fc1_relu;

describe("canonical JSON and the configuration hash", () => {
  it("does not depend on key order, ignores historyEvery, and treats the seed set as a set", () => {
    expect(canonicalJson({ b: [1, { d: 2, c: undefined, a: "x" }], a: null })).toBe('{"a":null,"b":[1,{"a":"x","d":2}]}');
    const a = { recipe: "FEATHER_2023", rounds: 3, stepsPerRound: 150, initialStep: 1, historyEvery: 100 };
    const reordered = { historyEvery: 5, initialStep: 1, stepsPerRound: 150, rounds: 3, recipe: "FEATHER_2023" };
    expect(configHash(reordered, 1)).toBe(configHash(a, 1));
    expect(configHash(a, 1)).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash({ ...a, rounds: 4 }, 1)).not.toBe(configHash(a, 1));
    expect(configHash(a, 2)).not.toBe(configHash(a, 1));
    // A null source, when the config carries one, is part of the configuration.
    expect(configHash({ ...a, nullSource: { setId: "s", n: 100_000 } }, 1)).not.toBe(configHash(a, 1));
    expect(configHash({ ...a, seeds: [3, 1, 3] }, 0)).toBe(configHash({ ...a, seeds: [1, 3] }, 7));
  });
});

describe("results by configuration, stages by label, recognizer panels", () => {
  let t: TestApp;
  let ctx: RequestContext;
  let key: string;
  let worker: ReturnType<typeof inProcessWorker>;
  let generator: string;
  let peer: string;
  let batchA: { id: string; configHash: string };
  let batchB: { id: string; configHash: string };
  const register = async (name: string) =>
    (
      await t.services.models.register(ctx, {
        name, modality: "IMAGE", classLabels: LABELS, stageLabels: LENET_STAGES,
        data: readFileSync(path.join(autodiffFixtures, "lenet.onnx")).toString("base64"),
      })
    ).model.id;

  beforeAll(async () => {
    t = await startTestApp();
    const created = await t.createGroupWithKey("metrics-configurations");
    const { groupId } = created;
    key = created.key;
    ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
    worker = inProcessWorker(t);
    generator = await register("lenet");
    peer = await register("lenet-peer");
    const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 5);
    const { stimuli } = await addImageSet(t.services, ctx, generator, pngs);
    const service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { nullPairs: 10, maxTotalSteps: 10_000 });
    const stimulusIds = stimuli.slice(0, 2).map((s) => s.id);
    // Two configurations of the same (model, stage): a 3 x 150 schedule, then a 4 x 150 one on the same stimuli.
    // fc1_relu, as in recognition-hooks.test.ts: every metric clears the null there, so both validate.
    const a = await service.synthesize(ctx, { modelId: generator, stages: ["fc1_relu"], stimulusIds, config: { rounds: 3, stepsPerRound: 150 }, seed: 1 });
    await worker.drain();
    const b = await service.synthesize(ctx, { modelId: generator, stages: [FC1], stimulusIds, config: { rounds: 4, stepsPerRound: 150 }, seed: 1 });
    await worker.drain();
    batchA = a.batch;
    batchB = b.batch;
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it("keys every batch, metamer and tally by its configuration", async () => {
    expect(batchA.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(batchB.configHash).not.toBe(batchA.configHash);
    const stored = await t.store.jobs.findBatch(ctx.groupId, batchA.id);
    expect(stored!.configHash).toBe(configHash(stored!.config, stored!.seed));
    const trials = await t.services.metrics.exportTable(ctx, "model-trials", new URLSearchParams({ generatorId: generator }));
    const byConfig = new Map<string, number>();
    for (const row of trials.rows) byConfig.set(String(row[7]), (byConfig.get(String(row[7])) ?? 0) + 1);
    // 2 validated metamers x 2 recognizers per configuration; each row names its batch too.
    expect(Object.fromEntries(byConfig)).toEqual({ [batchA.configHash]: 4, [batchB.configHash]: 4 });
    expect(new Set(trials.rows.map((r) => r[6]))).toEqual(new Set([batchA.id, batchB.id]));
  });

  it("gives two configurations two separate curves, and the default curve does not average them", async () => {
    const curve = (args: object) => t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR", ...args });
    const at = (points: Awaited<ReturnType<typeof curve>>) => points.find((p) => p.stage === FC1)!;
    const onlyA = at(await curve({ configHash: batchA.configHash }));
    const onlyB = at(await curve({ batchIds: [batchB.id] }));
    expect(onlyA).toMatchObject({ n: 2, configHashes: [batchA.configHash], stageLabel: "fc1_relu", recognizerIds: [generator], recognizerCount: 1 });
    expect(onlyB).toMatchObject({ n: 2, configHashes: [batchB.configHash] });
    // Default: the latest configuration (batch B's), not both.
    const latest = at(await curve({}));
    expect(latest).toMatchObject({ n: 2, configHashes: [batchB.configHash], mean: onlyB.mean });
    const pooled = at(await curve({ poolConfigurations: true }));
    expect(pooled.n).toBe(4);
    expect(pooled.configHashes).toEqual([batchA.configHash, batchB.configHash].sort());

    // The matrix and the single-stage statistic follow the same rule.
    const cells = await t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], recognizerIds: [generator, peer], stage: "fc1_relu" });
    expect(cells.map((c) => [c.n, c.configHashes])).toEqual([[2, [batchB.configHash]], [2, [batchB.configHash]]]);
    const both = await t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], stage: "fc1_relu", batchIds: [batchA.id, batchB.id], poolConfigurations: true });
    expect(both.map((c) => c.n)).toEqual([4, 4]);
    const single = await t.services.metrics.recognizability(ctx, { modelId: generator, stage: "fc1_relu", observer: "OTHER_MODELS", configHash: batchA.configHash, resamples: 50 });
    expect(single).toMatchObject({ stage: FC1, stageLabel: "fc1_relu", n: 1, metamers: 2, configHashes: [batchA.configHash], recognizerIds: [peer] });
  });

  it("refuses to average batches of different configurations unless asked, and checks the filters", async () => {
    const mixed = t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR", batchIds: [batchA.id, batchB.id] });
    await expect(mixed).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/2 different configurations.*poolConfigurations/) });
    await expect(mixed).rejects.toMatchObject({ message: expect.stringContaining(batchA.configHash) });
    await expect(
      t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR", batchIds: [batchA.id], configHash: batchA.configHash }),
    ).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^batchIds, configHash: give one/) });
    await expect(
      t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR", configHash: "abc" }),
    ).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^configHash: expected .* got 'abc'/) });
    await expect(
      t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR", batchIds: ["00000000-0000-4000-8000-000000000000"] }),
    ).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringMatching(/^batchIds\[0\]: no synthesis batch/) });
  });

  it("lists and filters metamers and batches (GraphQL): AND of fields, lists as `in`, pages with totalCount", async () => {
    const batches = await t.gql(
      `query($h: [String!]) { all: synthesisBatches { totalCount edges { node { id configHash } } }
                              one: synthesisBatches(filter: { configHashes: $h }) { totalCount edges { node { id counts { succeeded } } } }
                              old: synthesisBatches(order: OLDEST_FIRST, first: 1) { edges { node { id } } pageInfo { hasNextPage } } }`,
      { h: [batchA.configHash] },
      key,
    );
    expect(batches.errors).toBeUndefined();
    expect(batches.data.all.totalCount).toBe(2);
    expect(batches.data.all.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([batchB.id, batchA.id]);
    expect(batches.data.one).toEqual({ totalCount: 1, edges: [{ node: { id: batchA.id, counts: { succeeded: 2 } } }] });
    expect(batches.data.old).toEqual({ edges: [{ node: { id: batchA.id } }], pageInfo: { hasNextPage: true } });

    const q = `query($f: MetamerFilter, $after: String) { metamers(filter: $f, first: 1, after: $after) {
                 totalCount pageInfo { hasNextPage endCursor } edges { node { id stage stageLabel passed batchId configHash } } } }`;
    const first = await t.gql(q, { f: { modelIds: [generator], stages: ["fc1_relu"], passed: true, batchIds: [batchB.id], labels: ["a"] } }, key);
    expect(first.errors).toBeUndefined();
    const page = first.data.metamers;
    expect(page.totalCount).toBe(2);
    expect(page.edges[0].node).toMatchObject({ stage: FC1, passed: true, batchId: batchB.id, configHash: batchB.configHash });
    expect(page.pageInfo.hasNextPage).toBe(true);
    const second = await t.gql(q, { f: { modelIds: [generator], batchIds: [batchB.id] }, after: page.pageInfo.endCursor }, key);
    expect(second.data.metamers.edges).toHaveLength(1);
    expect(second.data.metamers.edges[0].node.id).not.toBe(page.edges[0].node.id);
    expect(second.data.metamers.pageInfo.hasNextPage).toBe(false);
    const none = await t.gql(q, { f: { modelIds: [generator], labels: ["class3"] } }, key);
    expect(none.data.metamers.totalCount).toBe(0);
    const both = await t.gql(q, { f: { configHashes: [batchA.configHash, batchB.configHash] } }, key);
    expect(both.data.metamers.totalCount).toBe(4);

    const noModel = await t.gql(q, { f: { stages: ["fc1_relu"] } }, key);
    expect(noModel.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(noModel.errors?.[0].message).toMatch(/^filter\.stages: .*give filter\.modelIds too/);
    const unknown = await t.gql(q, { f: { modelIds: [generator], stages: ["layer3"] } }, key);
    expect(unknown.errors?.[0].message).toMatch(/^filter\.stages\[0\]: no stage 'layer3'/);
    const badRange = await t.gql(q, { f: { createdAfter: "2030-01-01T00:00:00Z", createdBefore: "2020-01-01T00:00:00Z" } }, key);
    expect(badRange.errors?.[0].message).toMatch(/^filter\.createdBefore: expected a time after createdAfter/);
    const { key: stranger } = await t.createGroupWithKey("metrics-configurations-other", "READER");
    const hidden = await t.gql(q, { f: { modelIds: [generator] } }, stranger);
    expect(hidden.data.metamers.totalCount).toBe(0);
  });

  it("accepts a stage by label or tensor name everywhere, refuses an unknown one listing the stages, and relabels", async () => {
    const byLabel = await t.services.metrics.recognizability(ctx, { modelId: generator, stage: "fc1_relu", observer: "GENERATOR", resamples: 50 });
    const byTensor = await t.services.metrics.recognizability(ctx, { modelId: generator, stage: FC1, observer: "GENERATOR", resamples: 50 });
    expect(byLabel).toEqual(byTensor);
    expect(byLabel.n).toBe(2);
    await expect(t.services.metrics.recognizability(ctx, { modelId: generator, stage: "layer3", observer: "GENERATOR" })).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/^stage: no stage 'layer3' .* its stages: .*fc1_relu \(\/relu3\/Relu_output_0\)/),
    });
    await expect(t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], stage: "layer3" })).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/^stage \(generatorIds\[0\]\): no stage 'layer3'/),
    });

    await t.services.stages.setStageLabels(ctx, peer, [{ label: "hidden", stage: FC1 }]);
    const relabelled = await t.services.stages.setStageLabels(ctx, generator, [{ label: "hidden", stage: "fc1_relu" }, { label: "out", stage: "logits" }]);
    expect(relabelled.stageLabels).toEqual({ hidden: FC1, out: "logits" });
    const point = (await t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "GENERATOR" })).find((p) => p.stage === FC1)!;
    expect(point).toMatchObject({ stageLabel: "hidden", n: 2 });
    const cells = await t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], stage: "hidden" });
    expect(cells.map((c) => [c.stage, c.stageLabel])).toEqual([[FC1, "hidden"], [FC1, "hidden"]]);
    await expect(t.services.metrics.recognizability(ctx, { modelId: generator, stage: "fc1_relu", observer: "GENERATOR" })).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
    });
    await expect(t.services.stages.setStageLabels(ctx, generator, [{ label: "logits", stage: FC1 }])).rejects.toMatchObject({
      code: "BAD_USER_INPUT", message: expect.stringMatching(/^labels\[0\]\.label: 'logits' is the tensor name of another stage/),
    });
    await expect(t.services.stages.setStageLabels(ctx, generator, [{ label: "a", stage: FC1 }, { label: "b", stage: FC1 }])).rejects.toMatchObject({
      code: "BAD_USER_INPUT", message: expect.stringMatching(/^labels\[1\]\.stage: stage .* already has the label 'a'/),
    });
    await expect(t.services.stages.setStageLabels(ctx, generator, [{ label: "x", stage: "nope" }])).rejects.toMatchObject({
      code: "BAD_USER_INPUT", message: expect.stringMatching(/^labels\[0\]\.stage: no stage 'nope'/),
    });
  });

  it("uses a recognizer panel when given, lists the recognizers used, and versions panels by name", async () => {
    // A model registered later joins the default set of recognizers (its backlog is classified), not the panel.
    const late = await register("lenet-late");
    await worker.drain();
    const panel = await t.services.panels.create(ctx, "peers", [peer]);
    expect(panel).toMatchObject({ name: "peers", version: 1, modelIds: [peer] });
    expect(await t.services.panels.create(ctx, "peers", [peer])).toMatchObject({ id: panel.id, version: 1 });
    const v2 = await t.services.panels.create(ctx, "peers", [peer, late]);
    expect(v2).toMatchObject({ version: 2, modelIds: [peer, late] });

    const curve = (args: object) =>
      t.services.metrics.recognizabilityCurve(ctx, { modelId: generator, observer: "OTHER_MODELS", ...args }).then((c) => c.find((p) => p.stage === FC1)!);
    expect(await curve({})).toMatchObject({ recognizerCount: 2, recognizerIds: [peer, late].sort(), panelId: null, n: 2 });
    expect(await curve({ panelId: panel.id })).toMatchObject({ recognizerCount: 1, recognizerIds: [peer], panelId: panel.id, n: 1 });
    const cells = await t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], stage: FC1, panelId: panel.id });
    expect(cells.map((c) => c.recognizerId)).toEqual([peer]);
    await expect(t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator], recognizerIds: [peer], panelId: panel.id })).rejects.toMatchObject({
      code: "BAD_USER_INPUT", message: expect.stringMatching(/^recognizerIds, panelId: give the recognizers or a panel/),
    });
    await expect(curve({ panelId: "00000000-0000-4000-8000-000000000000" })).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringMatching(/^panelId: /) });
    await expect(t.services.panels.create(ctx, "peers", [peer, peer])).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^modelIds\[1\]: .* listed twice/) });
    await expect(t.services.panels.create(ctx, "", [peer])).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^name: expected/) });
    expect((await t.services.panels.list(ctx, { name: "peers" })).map((p) => p.version)).toEqual([2, 1]);
  });
});
