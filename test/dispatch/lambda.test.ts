// The Lambda path: the dispatcher's InvokeCommand (checked with aws-sdk-client-mock), and the real synthesis
// handler run in-process with that payload, finishing a job across two invocations via checkpoint + continuation.
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoDispatcher } from "../../src/services/ports.js";
import { createJobHandlers } from "../../src/worker.js";
import { LambdaDispatcher, type SynthesisInvocation } from "../../src/dispatch/lambda.js";
import { createLambdaWorker } from "../../src/dispatch/lambda-worker.js";
import { JobHandlerRegistry, JobQueue } from "../../src/services/jobs/queue.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

const silent = pino({ level: "silent" });
const lambdaMock = mockClient(LambdaClient);
let t: TestApp;
let handlers: ReturnType<typeof createJobHandlers>;

beforeAll(async () => {
  t = await startTestApp();
  handlers = createJobHandlers({ store: t.store, config: t.app.config, log: silent });
});
afterAll(async () => {
  await handlers?.close();
  await t?.close();
  lambdaMock.restore();
});

const payloads = () =>
  lambdaMock.commandCalls(InvokeCommand).map((c) => {
    const input = c.args[0].input;
    return { functionName: input.FunctionName, type: input.InvocationType, payload: JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as SynthesisInvocation };
  });

describe("Lambda dispatch", () => {
  it("invokes the function asynchronously with the job id, and a job completes across two invocations", async () => {
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { groupId } = await t.createGroupWithKey("lambda-lab");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 3));

    const dispatcher = new LambdaDispatcher({ functionName: "metamers-synthesize", region: "eu-west-1", endpoint: "http://127.0.0.1:9001", client: new LambdaClient({ region: "eu-west-1" }) });
    const service = new SynthesisService(t.store, t.services.models, dispatcher, { checkpointEvery: 25 });
    const config = { rounds: 2, stepsPerRound: 150 };
    const view = await service.synthesize(ctx, { modelId: model.model.id, stages: ["relu2"], stimulusIds: [stimuli[0].id], config, seed: 4 });
    const [nullJob] = (await t.store.jobs.pendingNullJobs(model.model.id, stimuli[0].setId)).map((j) => j.id);
    expect(payloads()).toEqual([
      { functionName: "metamers-synthesize", type: "Event", payload: { jobId: nullJob } },
      { functionName: "metamers-synthesize", type: "Event", payload: { jobId: view.jobs[0].id } },
    ]);

    const handler = createLambdaWorker({ store: t.store, registry: handlers.registry, log: silent, dispatcher, safetyMarginMs: 1000 });
    const longContext = { awsRequestId: "req-null", getRemainingTimeInMillis: () => 60_000 };
    // The synthesis job's own invocation comes before its null distribution exists: it is not claimable, so the
    // invocation ends at once instead of waiting in the function for the null.
    expect(await handler(payloads()[1].payload, { ...longContext, awsRequestId: "req-early" })).toEqual({ jobId: view.jobs[0].id, result: "skipped" });
    lambdaMock.resetHistory();
    expect(await handler({ jobId: nullJob }, longContext)).toEqual({ jobId: nullJob, result: "succeeded" });
    // The null's invocation hands the job that waited for it to the dispatcher.
    expect(payloads()).toEqual([{ functionName: "metamers-synthesize", type: "Event", payload: { jobId: view.jobs[0].id } }]);

    // First invocation: its time is already at the safety margin, so after one step it checkpoints and re-dispatches
    // itself (deterministic: the deadline does not depend on how fast this machine steps).
    lambdaMock.resetHistory();
    const shortContext = { awsRequestId: "req-1", getRemainingTimeInMillis: () => 1000 };
    const jobPayload = { jobId: view.jobs[0].id };
    expect(await handler(jobPayload, shortContext)).toEqual({ jobId: view.jobs[0].id, result: "yielded" });
    const paused = (await t.store.jobs.find(view.jobs[0].id))!;
    expect(paused.status).toBe("QUEUED");
    expect(paused.hasCheckpoint).toBe(true);
    expect(paused.iteration).toBeGreaterThan(0);
    expect(paused.iteration).toBeLessThan(300);
    expect(payloads()).toEqual([{ functionName: "metamers-synthesize", type: "Event", payload: jobPayload }]);

    // The continuation (the payload it re-sent) resumes from the checkpoint and finishes.
    expect(await handler(payloads()[0].payload, { awsRequestId: "req-2", getRemainingTimeInMillis: () => 120_000 })).toEqual({ jobId: jobPayload.jobId, result: "succeeded" });
    const done = (await t.store.jobs.find(view.jobs[0].id))!;
    expect(done).toMatchObject({ status: "SUCCEEDED", iteration: 300, attempts: 1 });
    const metamer = (await t.store.metamers.findByJob(done.id))!;

    // A duplicate delivery of the same payload does nothing.
    expect(await handler(jobPayload, { awsRequestId: "req-3", getRemainingTimeInMillis: () => 60_000 })).toEqual({ jobId: jobPayload.jobId, result: "skipped" });

    // Bit-identical to the same synthesis run in one go.
    const local = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { checkpointEvery: 1000 });
    const again = await local.synthesize(ctx, { modelId: model.model.id, stages: ["relu2"], stimulusIds: [stimuli[0].id], config, seed: 4 });
    const queue = new JobQueue(t.store, handlers.registry, silent);
    expect((await queue.runOne({ jobId: again.jobs[0].id }))!.result).toBe("succeeded");
    expect((await t.store.metamers.findByJob(again.jobs[0].id))!.sha256).toBe(metamer.sha256);
  });

  it("hands the jobs a job queued while it ran (e.g. recognition of its metamer) to Lambda, since no pool polls there", async () => {
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { groupId } = await t.createGroupWithKey("lambda-follow-ups");
    // A job whose work queues two follow-up jobs in its completing transaction, as a synthesis job does.
    const registry = new JobHandlerRegistry().register("NULL_DISTRIBUTION", {
      async run(ctx) {
        await ctx.complete(async (tx) => {
          await tx.jobs.enqueue([{ kind: "RECOGNITION", groupId }, { kind: "RECOGNITION", groupId }]);
        });
        return "completed";
      },
    });
    const [first] = await t.store.jobs.enqueue([{ kind: "NULL_DISTRIBUTION", groupId }]);
    const dispatcher = new LambdaDispatcher({ functionName: "metamers-synthesize", region: "eu-west-1", endpoint: "http://127.0.0.1:9001", client: new LambdaClient({ region: "eu-west-1" }) });
    const handler = createLambdaWorker({ store: t.store, registry, log: silent, dispatcher, safetyMarginMs: 1000 });
    expect(await handler({ jobId: first.id }, { awsRequestId: "req-f", getRemainingTimeInMillis: () => 60_000 })).toEqual({ jobId: first.id, result: "succeeded" });
    const queued = (await t.store.jobs.queuedSince(first.createdAt)).sort();
    expect(queued).toHaveLength(2);
    expect(payloads().map((p) => p.payload.jobId).sort()).toEqual(queued);
  });
});
