import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJobHandlers } from "../../src/worker.js";
import { JobQueue } from "../../src/services/jobs/queue.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let modelId: string;
let stimulusIds: string[];
let queue: JobQueue;
let closeHandlers: () => Promise<void>;

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("gql-synthesis", "MEMBER");
  key = issued.key;
  const ctx = { groupId: issued.groupId, role: "MEMBER" as const, apiKeyId: "test" };
  modelId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 3);
  stimulusIds = (await addImageSet(t.services, ctx, modelId, pngs)).stimuli.map((s) => s.id);
  const handlers = createJobHandlers({ store: t.store, config: t.app.config, log: pino({ level: "silent" }) });
  closeHandlers = handlers.close;
  queue = new JobQueue(t.store, handlers.registry, pino({ level: "silent" }));
});
afterAll(async () => {
  await closeHandlers?.();
  await t?.close();
});

const SYNTHESIZE = `mutation($input: SynthesizeMetamersInput!) {
  synthesizeMetamers(input: $input) { id seed counts { queued } jobs { id stage stimulus { id } status } }
}`;

describe("GraphQL synthesis API", () => {
  it("queues jobs, reports progress and serves the finished metamer", async () => {
    const res = await t.gql(SYNTHESIZE, {
      input: { modelId, stages: ["relu1", "final"], stimulusIds: stimulusIds.slice(0, 1), config: { recipe: "FEATHER_2023", rounds: 2, stepsPerRound: 10 }, seed: 1, idempotencyKey: "gql-1" },
    }, key);
    expect(res.errors).toBeUndefined();
    const batch = res.data.synthesizeMetamers;
    expect(batch.counts.queued).toBe(2);
    expect(batch.jobs.map((j: any) => j.stage).sort()).toEqual([LENET_STAGES.relu1, "logits"].sort());
    expect(batch.jobs[0].stimulus.id).toBe(stimulusIds[0]);

    const repeat = await t.gql(SYNTHESIZE, { input: { modelId, stages: ["relu1"], stimulusIds: [stimulusIds[0]], idempotencyKey: "gql-1" } }, key);
    expect(repeat.data.synthesizeMetamers.id).toBe(batch.id);

    while (await queue.runOne());
    const job = await t.gql(
      `query($id: ID!) { synthesisJob(id: $id) { status progress { iteration totalIterations loss } metamer { id } error { code message } } }`,
      { id: batch.jobs[0].id },
      key,
    );
    expect(job.data.synthesisJob).toMatchObject({ status: "SUCCEEDED", progress: { iteration: 20, totalIterations: 20 }, error: null });
    expect(job.data.synthesisJob.progress.loss).toBeGreaterThan(0);

    const counts = await t.gql(`query($id: ID!) { synthesisBatch(id: $id) { counts { queued running succeeded failed } jobs(status: SUCCEEDED) { id } } }`, { id: batch.id }, key);
    expect(counts.data.synthesisBatch).toMatchObject({ counts: { queued: 0, running: 0, succeeded: 2, failed: 0 } });
    expect(counts.data.synthesisBatch.jobs).toHaveLength(2);

    const metamer = await t.gql(
      `query($id: ID!) { metamer(id: $id) { model { id name } stage stimulus { id } seed config history certificate renderingUrl tensorUrl sha256 softwareVersions } }`,
      { id: job.data.synthesisJob.metamer.id },
      key,
    );
    expect(metamer.errors).toBeUndefined();
    const m = metamer.data.metamer;
    expect(m).toMatchObject({ model: { id: modelId, name: "lenet" }, seed: 1, stimulus: { id: stimulusIds[0] }, config: { recipe: "FEATHER_2023", rounds: 2 } });
    expect(m.certificate).toHaveProperty("passedNull");
    expect(m.softwareVersions).toHaveProperty("onnxruntime-node");
    const png = await fetch(m.renderingUrl, { headers: { authorization: `Bearer ${key}` } });
    expect(png.status).toBe(200);
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe("PNG");
    const tensor = await fetch(m.tensorUrl, { headers: { authorization: `Bearer ${key}` } });
    expect((await tensor.arrayBuffer()).byteLength).toBe(28 * 28 * 4);
  });

  it("reports bad input with extensions.code, and cancels", async () => {
    const bad = await t.gql(SYNTHESIZE, { input: { modelId, stages: ["conv9"], stimulusIds, config: { rounds: 1, stepsPerRound: 2 } } }, key);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(bad.errors?.[0].message).toMatch(/stages\[0\]: no stage 'conv9' in model lenet; differentiable stages:/);
    const zero = await t.gql(SYNTHESIZE, { input: { modelId, stages: ["relu1"], stimulusIds, config: { stepsPerRound: 0 } } }, key);
    expect(zero.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");

    const queued = await t.gql(SYNTHESIZE, { input: { modelId, stages: ["relu2"], stimulusIds, config: { rounds: 1, stepsPerRound: 2 } } }, key);
    const cancel = await t.gql(`mutation($id: ID!) { cancelSynthesis(batchId: $id) { counts { queued cancelled } } }`, { id: queued.data.synthesizeMetamers.id }, key);
    expect(cancel.data.cancelSynthesis.counts).toEqual({ queued: 0, cancelled: 3 });
    const missing = await t.gql(`mutation { cancelSynthesis(batchId: "00000000-0000-4000-8000-000000000000") { id } }`, {}, key);
    expect(missing.errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });
});
