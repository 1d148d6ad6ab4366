// GPU workers on AWS Batch, the API side: the dispatcher's SubmitJob calls (checked with aws-sdk-client-mock at the
// AWS API edge) and the dispatch policy that picks LOCAL / LAMBDA / GPU_BATCH per batch, through the real synthesis
// service on a real database.
import { BatchClient, SubmitJobCommand } from "@aws-sdk/client-batch";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BatchDispatcher } from "../../src/dispatch/batch.js";
import { LambdaDispatcher } from "../../src/dispatch/lambda.js";
import { decodeOnnxModel } from "../../src/engine/index.js";
import { DispatchPolicy, estimateForwardFlops } from "../../src/services/dispatch-policy.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { countRows } from "../helpers/db.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, autodiffFixtures, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

const batchMock = mockClient(BatchClient);
const lambdaMock = mockClient(LambdaClient);
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  batchMock.restore();
  lambdaMock.restore();
});
beforeEach(() => {
  batchMock.reset();
  batchMock.on(SubmitJobCommand).resolves({ jobId: "b-1", jobName: "n", jobArn: "arn" });
  lambdaMock.reset();
  lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
});

const gpu = (maxWorkers = 8) =>
  new BatchDispatcher({ jobQueue: "metamers-gpu", jobDefinition: "metamers-gpu-worker:3", region: "eu-west-1", maxWorkers, client: new BatchClient({ region: "eu-west-1" }) });
const lambda = () => new LambdaDispatcher({ functionName: "metamers-synthesize", region: "eu-west-1", client: new LambdaClient({ region: "eu-west-1" }) });
const submitted = () => batchMock.commandCalls(SubmitJobCommand).map((c) => c.args[0].input);

describe("Batch dispatcher", () => {
  it("submits one array job per dispatch, one GPU worker per job up to maxWorkers, to the configured queue and definition", async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    await gpu().dispatch(ids(3));
    await gpu().dispatch(ids(20));
    await gpu().dispatch(ids(1));
    await gpu().dispatch([]);
    const calls = submitted();
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({
      jobName: `metamers-${ids(1)[0]}-3`,
      jobQueue: "metamers-gpu",
      jobDefinition: "metamers-gpu-worker:3",
      arrayProperties: { size: 3 },
      containerOverrides: { environment: [{ name: "METAMERS_DISPATCHED_JOBS", value: "3" }] },
    });
    expect(calls[1].arrayProperties).toEqual({ size: 8 });
    // Batch arrays start at 2: one job is a plain job.
    expect(calls[2].arrayProperties).toBeUndefined();
    for (const c of calls) expect(c.jobName).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
  });
});

describe("dispatch policy", () => {
  it("estimates LeNet's forward FLOPs from its catalogue within a factor of 2-3 of the exact count from its weights", async () => {
    const { groupId } = await t.createGroupWithKey("flops-lab");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const layers = await t.store.models.layers(model.model.id);
    const estimate = estimateForwardFlops(model.model.inputShape, layers);
    // Exact multiply-adds of the Conv and Gemm/MatMul nodes, from the weights' shapes and the catalogue's output shapes.
    const onnx = decodeOnnxModel(readFileSync(path.join(autodiffFixtures, "lenet.onnx")));
    const dims = new Map((onnx.proto.graph!.initializer ?? []).map((i) => [i.name!, (i.dims ?? []).map(Number)]));
    const outShape = new Map(layers.map((l) => [l.name, l.shape]));
    let exact = 0;
    for (const node of onnx.proto.graph!.node ?? []) {
      const w = dims.get(node.input![1]);
      const out = outShape.get(node.output![0]);
      if (!w || !out) continue;
      const outputs = out.slice(1).reduce((a, b) => a * b, 1);
      if (node.opType === "Conv") exact += 2 * outputs * w[1] * w[2] * w[3];
      if (node.opType === "Gemm" || node.opType === "MatMul") exact += 2 * outputs * (node.opType === "Gemm" ? w[1] : w[0]);
    }
    expect(exact).toBeGreaterThan(1e5);
    // LeNet's 5x5 kernels against the assumed 3x3: the estimate is about half (262,140 against 563,280).
    expect(estimate / exact).toBeGreaterThan(0.3);
    expect(estimate / exact).toBeLessThan(2);
  });

  it("sends a batch to GPU_BATCH when its estimated work reaches the threshold, to the hub's dispatcher below it, and honours a forced target", async () => {
    const { groupId } = await t.createGroupWithKey("policy-lab");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2));
    const request = (stepsPerRound: number, extra: object = {}) => ({
      modelId: model.model.id,
      stages: ["relu2"],
      stimulusIds: [stimuli[0].id],
      config: { rounds: 2, stepsPerRound },
      seed: stepsPerRound,
      ...extra,
    });
    const perStep = estimateForwardFlops(model.model.inputShape, await t.store.models.layers(model.model.id)) * 3;
    // The threshold sits between 100 and 10,000 steps of LeNet.
    const service = new SynthesisService(t.store, t.services.models, lambda(), { gpuWorkThreshold: perStep * 1000 });
    service.useGpuDispatcher(gpu());

    const small = await service.synthesize(ctx, request(50));
    expect(small.dispatch).toMatchObject({ target: "LAMBDA", workPerJob: perStep * 100 });
    expect(submitted()).toHaveLength(0);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(2); // the null distribution and the synthesis job

    const large = await service.synthesize(ctx, request(5000));
    expect(large.dispatch).toMatchObject({ target: "GPU_BATCH", workPerJob: perStep * 10_000 });
    expect(large.dispatch!.reason).toMatch(/≥ the GPU threshold/);
    expect(submitted()).toHaveLength(1);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(2);

    // Forced: a small batch on the GPU, a large one on Lambda.
    expect((await service.synthesize(ctx, request(60, { target: "GPU_BATCH" }))).dispatch).toMatchObject({ target: "GPU_BATCH", reason: expect.stringMatching(/forced/) });
    expect((await service.synthesize(ctx, request(6000, { target: "LAMBDA" }))).dispatch).toMatchObject({ target: "LAMBDA" });
    expect(submitted()).toHaveLength(2);
  });

  it("refuses a target the hub does not run, naming the ones it does, and writes nothing", async () => {
    const { groupId } = await t.createGroupWithKey("refused-lab");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2));
    const service = new SynthesisService(t.store, t.services.models, lambda(), {});
    const before = await countRows(t.store);
    const input = { modelId: model.model.id, stages: ["relu2"], stimulusIds: [stimuli[0].id], config: { rounds: 1, stepsPerRound: 10 } };
    await expect(service.synthesize(ctx, { ...input, target: "GPU_BATCH" })).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: "target: expected a target this hub runs (LAMBDA), got GPU_BATCH",
    });
    await expect(service.synthesize(ctx, { ...input, target: "LOCAL" })).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/got LOCAL$/) });
    expect(await countRows(t.store)).toEqual(before);
    expect(submitted()).toHaveLength(0);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it("takes the target through GraphQL's synthesizeMetamers and refuses one this hub does not run", async () => {
    const { groupId, key } = await t.createGroupWithKey("gql-target-lab", "MEMBER");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2));
    const mutation = `mutation($input: SynthesizeMetamersInput!) { synthesizeMetamers(input: $input) { id } }`;
    const input = { modelId: model.model.id, stages: ["relu2"], stimulusIds: [stimuli[0].id], config: { rounds: 1, stepsPerRound: 10 } };
    // The test app has no dispatcher attached (jobs wait for a polling worker): no target can be forced.
    const refused = await t.gql(mutation, { input: { ...input, target: "GPU_BATCH" } }, key);
    expect(refused.errors?.[0]).toMatchObject({
      message: "target: expected a target this hub runs (none: METAMERS_DISPATCHER=none, jobs wait for an external worker), got GPU_BATCH",
      extensions: { code: "BAD_USER_INPUT" },
    });
    const unknown = await t.gql(mutation, { input: { ...input, target: "TPU" } }, key);
    expect(unknown.errors?.[0].message).toMatch(/DispatchTarget/);
    expect((await t.gql(mutation, { input }, key)).data.synthesizeMetamers.id).toBeTruthy();
  });

  it("lists the targets of each kind of hub", () => {
    expect(new DispatchPolicy(lambda(), gpu(), 1).targets()).toEqual(["LAMBDA", "GPU_BATCH"]);
    expect(new DispatchPolicy({ kind: "none", dispatch: async () => {}, close: async () => {} }, null, 1).targets()).toEqual([]);
    expect(() => new DispatchPolicy(lambda(), null, 1).choose({ target: "TPU" as never, workPerJob: 1 })).toThrow(
      'target: expected one of LOCAL, LAMBDA, GPU_BATCH, got "TPU"',
    );
  });
});
