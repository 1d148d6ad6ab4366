import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoDispatcher } from "../../src/services/ports.js";
import { renderAudio, renderImage } from "../../src/engine/index.js";
import { AppError } from "../../src/errors.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, logModel, registerFixtureModel, sinModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let ctx: RequestContext;
let service: SynthesisService;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let stimulusIds: string[];

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("synthesis-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 5);
  stimulusIds = (await addImageSet(t.services, ctx, lenetId, pngs)).stimuli.map((s) => s.id);
  service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { checkpointEvery: 5, nullPairs: 12, maxTotalSteps: 1000 });
  worker = inProcessWorker(t);
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

const drain = () => worker.drain();

async function expectError(p: Promise<unknown>, code: string, message: RegExp) {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe(code);
  expect((e as AppError).message).toMatch(message);
}

describe("synthesis jobs (service + handlers, real lenet, real PostgreSQL)", () => {
  it("runs one job per (stimulus, stage) plus one null job, and stores metamers with certificates", async () => {
    const view = await service.synthesize(ctx, {
      modelId: lenetId,
      stages: ["relu1", LENET_STAGES.final],
      stimulusIds: stimulusIds.slice(0, 2),
      config: { rounds: 2, stepsPerRound: 15, historyEvery: 10 },
      seed: 3,
    });
    expect(view.jobs).toHaveLength(4);
    expect(new Set(view.jobs.map((j) => `${j.stimulusId}|${j.stage}`)).size).toBe(4);
    expect(view.counts.queued).toBe(4);
    const ran = await drain();
    expect(ran[0]).toBe("NULL_DISTRIBUTION:succeeded");
    expect(ran.filter((r) => r === "SYNTHESIS:succeeded")).toHaveLength(4);
    const after = (await service.batch(ctx, view.batch.id))!;
    expect(after.counts).toMatchObject({ succeeded: 4, queued: 0, running: 0, failed: 0 });

    const job = (await service.job(ctx, view.jobs.find((j) => j.stage === LENET_STAGES.relu1)!.id))!;
    expect(job).toMatchObject({ status: "SUCCEEDED", iteration: 30, totalIterations: 30 });
    const metamer = (await service.metamer(ctx, job.metamerId!))!;
    expect(metamer).toMatchObject({ modelId: lenetId, seed: 3, stage: LENET_STAGES.relu1 });
    expect(metamer.config).toMatchObject({ recipe: "FEATHER_2023", rounds: 2, stepsPerRound: 15 });
    expect((metamer.history as { iteration: number }[]).map((h) => h.iteration)).toEqual([1, 10, 20, 30, 30]);
    expect(metamer.softwareVersions).toMatchObject({ node: process.version, "onnxruntime-node": "1.30.0" });
    expect(metamer.softwareVersions.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    const cert = metamer.certificate as any;
    expect(cert.null).toMatchObject({ n: 12, seed: 3 });
    for (const m of ["spearman", "pearson", "snr"]) expect(Number.isFinite(cert.similarity[m])).toBe(true);
    expect(cert.passed).toBe(cert.passedNull && cert.passedLabel);
    expect(metamer.passed).toBe(cert.passed);
    const tensor = (await t.store.blobs.get(metamer.tensorSha256))!;
    expect(tensor.byteLength).toBe(28 * 28 * 4);
    expect(createHash("sha256").update(tensor).digest("hex")).toBe(metamer.sha256);
    const png = (await t.store.blobs.head(metamer.renderingSha256))!;
    expect(png.contentType).toBe("image/png");
    const nulls = await t.store.metamers.findNullDistribution(lenetId, (await t.store.stimuli.findStimulus(ctx.groupId, stimulusIds[0]))!.setId, LENET_STAGES.relu1);
    expect(nulls).toMatchObject({ n: 12, seed: 3 });

    // Same (model, stage, stimulus, config, seed): bit-identical metamer; the null distribution is reused.
    const again = await service.synthesize(ctx, {
      modelId: lenetId,
      stages: [LENET_STAGES.relu1],
      stimulusIds: [job.stimulusId!],
      config: { rounds: 2, stepsPerRound: 15, historyEvery: 10 },
      seed: 3,
    });
    expect(await drain()).toEqual(["SYNTHESIS:succeeded"]);
    const second = (await service.job(ctx, again.jobs[0].id))!;
    expect((await service.metamer(ctx, second.metamerId!))!.sha256).toBe(metamer.sha256);
  });

  it("returns the same batch for the same idempotencyKey", async () => {
    const input = { modelId: lenetId, stages: ["pool1"], stimulusIds: [stimulusIds[0]], config: { rounds: 1, stepsPerRound: 3 }, idempotencyKey: "k-1" };
    const a = await service.synthesize(ctx, input);
    const b = await service.synthesize(ctx, input);
    expect(b.batch.id).toBe(a.batch.id);
    expect(b.jobs.map((j) => j.id)).toEqual(a.jobs.map((j) => j.id));
    await service.cancel(ctx, a.batch.id);
  });

  it("cancels a queued batch: its jobs never run", async () => {
    const view = await service.synthesize(ctx, { modelId: lenetId, stages: ["relu2"], stimulusIds: stimulusIds.slice(0, 3), config: { rounds: 1, stepsPerRound: 3 } });
    const cancelled = await service.cancel(ctx, view.batch.id);
    expect(cancelled.counts).toMatchObject({ cancelled: 3, queued: 0 });
    expect((await drain()).filter((r) => r.startsWith("SYNTHESIS"))).toEqual([]);
  });

  it("rejects bad input with clear errors", async () => {
    const base = { modelId: lenetId, stages: ["relu1"], stimulusIds: [stimulusIds[0]], config: { rounds: 1, stepsPerRound: 2 } };
    await expectError(service.synthesize(ctx, { ...base, stages: ["relu1", "layer9"] }), "BAD_USER_INPUT", /stages\[1\]: no stage 'layer9' in model lenet; differentiable stages: .*relu1 \(\/relu1\/Relu_output_0\)/);
    await expectError(service.synthesize(ctx, { ...base, config: { rounds: 0 } }), "BAD_USER_INPUT", /config\.rounds: expected a positive integer, got 0/);
    await expectError(service.synthesize(ctx, { ...base, config: { stepsPerRound: -1 } }), "BAD_USER_INPUT", /config\.stepsPerRound: expected a positive integer, got -1/);
    await expectError(service.synthesize(ctx, { ...base, config: { initialStep: NaN } }), "BAD_USER_INPUT", /config\.initialStep: expected a finite number > 0, got NaN/);
    await expectError(service.synthesize(ctx, { ...base, config: { rounds: 8, stepsPerRound: 3000 } }), "BAD_USER_INPUT", /24000 gradient steps, more than the cap of 1000/);
    await expectError(service.synthesize(ctx, { ...base, modelId: "00000000-0000-4000-8000-000000000000" }), "NOT_FOUND", /modelId: no model/);

    // A stage without an input gradient: the error names the op.
    const sinNet = await t.services.models.register(ctx, { name: "sin", modality: "IMAGE", data: Buffer.from(sinModel()).toString("base64") });
    const grey = await renderImage(new Float32Array(16).fill(0.5), [1, 1, 4, 4], [0, 1]);
    const sinSet = await addImageSet(t.services, ctx, sinNet.model.id, [Buffer.from(grey.bytes).toString("base64")], "sin-set");
    await expectError(
      service.synthesize(ctx, { ...base, modelId: sinNet.model.id, stages: ["q"], stimulusIds: [sinSet.stimuli[0].id] }),
      "UNSUPPORTED_MODEL",
      /stages\[0\]: stage 'q' of model sin cannot be targeted; no gradient for: Sin \(opset 17, node sin/,
    );

    // A stimulus made for another model's input shape.
    const resnet = await registerFixtureModel(t.services, ctx, "resnet_mini", "resnet_mini.onnx", {});
    const big = await renderImage(new Float32Array(3 * 64 * 64).fill(0.4), [1, 3, 64, 64], [0, 1]);
    const other = await addImageSet(t.services, ctx, resnet.model.id, [Buffer.from(big.bytes).toString("base64")], "rgb");
    await expectError(service.synthesize(ctx, { ...base, stimulusIds: [other.stimuli[0].id] }), "INVALID_STIMULUS", /has input shape \[1, 3, 64, 64\]; model lenet takes \[1, 1, 28, 28\]/);

    // A stimulus of another modality.
    const audioSet = await t.services.stimuli.createSet(ctx, { name: "sounds", modality: "AUDIO", sampleRate: 8000 });
    const wav = renderAudio(new Float32Array(800).map((_, i) => 0.1 * Math.sin(i / 5)), 8000);
    const [sound] = await t.services.stimuli.addStimuli(ctx, { setId: audioSet.id, items: [{ label: "a", data: Buffer.from(wav.bytes).toString("base64") }] });
    await expectError(service.synthesize(ctx, { ...base, stimulusIds: [sound.id] }), "INVALID_STIMULUS", /is AUDIO; model lenet takes IMAGE input/);
  });

  it("fails a job whose loss becomes non-finite with NON_FINITE_LOSS and keeps its checkpoint", async () => {
    const registered = await t.services.models.register(ctx, { name: "log", modality: "IMAGE", data: Buffer.from(logModel()).toString("base64") });
    // Dark pixels: the optimiser drives them to 0 and the clamp lands on log(0) = -Inf. None is 0 to begin with: the
    // set's null distribution needs finite activations, and a synthesis job runs only once its null exists.
    const dark = await renderImage(new Float32Array(16).map((_, i) => (i % 3) * 0.004 + 0.004), [1, 1, 4, 4], [0, 1]);
    const darker = await renderImage(new Float32Array(16).map((_, i) => (i % 2) * 0.008 + 0.004), [1, 1, 4, 4], [0, 1]);
    const set = await addImageSet(t.services, ctx, registered.model.id, [dark, darker].map((r) => Buffer.from(r.bytes).toString("base64")), "dark");
    const everyStep = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { checkpointEvery: 1, nullPairs: 2 });
    const view = await everyStep.synthesize(ctx, { modelId: registered.model.id, stages: ["logx"], stimulusIds: [set.stimuli[1].id], config: { rounds: 4, stepsPerRound: 50 } });
    await drain();
    const job = (await t.store.jobs.find(view.jobs[0].id))!;
    expect(job).toMatchObject({ status: "FAILED", errorCode: "NON_FINITE_LOSS", attempts: 1 });
    expect(job.errorMessage).toMatch(/became -?(Infinity|NaN) at iteration \d+/);
    const failedAt = Number(/iteration (\d+)/.exec(job.errorMessage!)![1]);
    expect(failedAt).toBeGreaterThan(1);
    expect(job.iteration).toBe(failedAt - 1); // progress and checkpoint of the last good step
    expect(job.hasCheckpoint).toBe(true);
    expect(await t.store.metamers.findByJob(job.id)).toBeNull();
  });

  it("refuses a null distribution over non-finite activations once, and fails its synthesis jobs with that reason", async () => {
    const registered = await t.services.models.register(ctx, { name: "log-zero", modality: "IMAGE", data: Buffer.from(logModel()).toString("base64") });
    // A black pixel: log(0) = -Infinity in the natural stimulus's own activations.
    const black = await renderImage(new Float32Array(16).map((_, i) => (i % 3) * 0.004), [1, 1, 4, 4], [0, 1]);
    const grey = await renderImage(new Float32Array(16).fill(0.5), [1, 1, 4, 4], [0, 1]);
    const set = await addImageSet(t.services, ctx, registered.model.id, [black, grey].map((r) => Buffer.from(r.bytes).toString("base64")), "black");
    const view = await service.synthesize(ctx, { modelId: registered.model.id, stages: ["logx"], stimulusIds: [set.stimuli[1].id], config: { rounds: 1, stepsPerRound: 5 } });
    expect(await drain()).toEqual(["NULL_DISTRIBUTION:failed", "SYNTHESIS:failed"]);
    const nullJob = (await t.store.jobs.find(view.jobs[0].dependsOnId!))!;
    expect(nullJob).toMatchObject({ status: "FAILED", attempts: 1, errorCode: "INVALID_STIMULUS" });
    expect(nullJob.errorMessage).toBe(
      `stimulus set ${set.set.id}: stimulus 's0.png' (${set.stimuli[0].id}) gives -Infinity at unit 0 of stage logx; a null distribution needs finite activations`,
    );
    const job = (await t.store.jobs.find(view.jobs[0].id))!;
    expect(job).toMatchObject({ status: "FAILED", errorCode: "DEPENDENCY_FAILED", iteration: 0 });
    expect(job.errorMessage).toContain(`needs failed (INVALID_STIMULUS: stimulus set ${set.set.id}: stimulus 's0.png'`);
  });
});
