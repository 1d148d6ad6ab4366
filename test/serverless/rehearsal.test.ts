// The serverless rehearsal: the cloud path end to end, in one process, with the real parts wherever they exist.
// - API: the Lambda HTTP handler (functions/http.ts) over the app, with the S3 blob store on a real S3-compatible server
//   (s3rver on loopback) and embedded PostgreSQL.
// - Synthesis: the synthesis Lambda function's composition (createSynthesisFunction, what
//   functions/synthesize/handler.ts builds) in N = 8 "containers", each running one invocation at a time.
// - Between them, Lambda's asynchronous invoke: mocked only at the AWS SDK edge (aws-sdk-client-mock on LambdaClient's
//   InvokeCommand), routed to a free container. Every invocation gets a short time budget, so jobs checkpoint and
//   re-invoke themselves (continuations).
// A batch of 24 lenet jobs must complete with continuations, every metamer's bytes must be in the bucket, nothing
// duplicated, and the metamers must be bit-identical to the same batch run by the local worker pool.
import { randomUUID } from "node:crypto";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpHandler, type HttpHandler } from "../../functions/http.js";
import { LambdaDispatcher, type SynthesisInvocation } from "../../src/dispatch/lambda.js";
import { LocalWorkerPool } from "../../src/dispatch/local-pool.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { createSynthesisFunction } from "../../src/worker.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

const N = 8;
/** The synthesis function's own safety margin (src/dispatch/lambda-worker.ts): its time left is this plus the budget. */
const SAFETY_MARGIN_MS = 20_000;
/**
 * Work time of an invocation: a job's first invocation has none left (it runs one step, checkpoints and re-invokes
 * itself), every later one 1.5 s (a job that needs longer continues again). Continuations therefore happen on every
 * synthesis job however fast this machine is, and more of them on a slow one.
 */
const FIRST_BUDGET_MS = 0;
const LATER_BUDGET_MS = 1500;
const FUNCTION = "metamers-synthesize";

const lambdaMock = mockClient(LambdaClient);
let t: TestApp;
let s3: TestS3;
let api: HttpHandler;
let key: string;
let ctx: RequestContext;

type Container = ReturnType<typeof createSynthesisFunction>;

/**
 * Lambda's asynchronous invoke, in process: each InvokeCommand is queued and run on a free container as soon as one
 * is (at most N at once, as with reserved concurrency N); the caller gets 202 at once, as from Lambda.
 */
class AsyncInvoke {
  private readonly queue: SynthesisInvocation[] = [];
  private readonly free: Container[];
  private running = 0;
  private readonly ran = new Set<string>();
  readonly results: { jobId: string; result: string }[] = [];
  readonly errors: unknown[] = [];
  maxConcurrent = 0;

  constructor(readonly containers: Container[]) {
    this.free = [...containers];
  }

  enqueue(payload: SynthesisInvocation): void {
    this.queue.push(payload);
    setImmediate(() => this.pump());
  }

  get idle(): boolean {
    return this.running === 0 && this.queue.length === 0;
  }

  private pump(): void {
    while (this.free.length && this.queue.length) {
      const container = this.free.pop()!;
      const payload = this.queue.shift()!;
      this.running++;
      this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
      const started = Date.now();
      // (an invocation that found its job not claimable yet, e.g. waiting for its null distribution, does not count)
      const budget = this.ran.has(payload.jobId) ? LATER_BUDGET_MS : FIRST_BUDGET_MS;
      const context = {
        awsRequestId: randomUUID(),
        getRemainingTimeInMillis: () => Math.max(0, started + SAFETY_MARGIN_MS + budget - Date.now()),
      } as unknown as Context;
      container(payload, context)
        .then(
          (r) => {
            this.results.push(r);
            if (r.result !== "skipped") this.ran.add(r.jobId);
          },
          (e: unknown) => this.errors.push(e),
        )
        .finally(() => {
          this.running--;
          this.free.push(container);
          this.pump();
        });
    }
  }
}

let invoke: AsyncInvoke;

beforeAll(async () => {
  s3 = await startTestS3();
  t = await startTestApp({ config: { s3: s3.settings } });
  const issued = await t.createGroupWithKey("serverless-lab", "MEMBER");
  key = issued.key;
  ctx = { groupId: issued.groupId, role: "MEMBER", apiKeyId: "test" };
  // The API function dispatches through the real LambdaDispatcher; its client's send is what the mock answers.
  t.app.services.synthesis.useDispatcher(new LambdaDispatcher({ functionName: FUNCTION, region: "eu-west-1", client: new LambdaClient({ region: "eu-west-1" }) }));
  api = createHttpHandler(t.app);
  const config = {
    ...t.app.config,
    externalDatabase: t.database,
    logLevel: "silent" as const,
    jobs: { ...t.app.config.jobs, dispatcher: "lambda" as const, lambdaFunction: FUNCTION, lambdaRegion: "eu-west-1", sessionThreads: 1 },
  };
  invoke = new AsyncInvoke(Array.from({ length: N }, () => createSynthesisFunction(config)));
  lambdaMock.on(InvokeCommand).callsFake((input: { FunctionName?: string; InvocationType?: string; Payload?: Uint8Array }) => {
    if (input.FunctionName !== FUNCTION || input.InvocationType !== "Event") throw new Error(`unexpected invoke ${input.FunctionName} ${input.InvocationType}`);
    invoke.enqueue(JSON.parse(new TextDecoder().decode(input.Payload)) as SynthesisInvocation);
    return { StatusCode: 202 };
  });
}, 120_000);

afterAll(async () => {
  for (const c of invoke?.containers ?? []) await c.close();
  lambdaMock.restore();
  await t?.close();
  await s3?.close();
});

async function gql(query: string, variables: Record<string, unknown>) {
  const event = {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/graphql",
    rawQueryString: "",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.org",
      domainPrefix: "api",
      http: { method: "POST", path: "/graphql", protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "rehearsal" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: "29/Nov/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    body: JSON.stringify({ query, variables }),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
  const out = await api(event);
  const body = JSON.parse(out.body!);
  expect(body.errors).toBeUndefined();
  return body.data;
}

async function until(done: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Per (stimulus, stage): the metamer's tensor and rendering addresses and its validation outcome. */
async function metamersOf(batchId: string) {
  const jobs = await t.store.jobs.listByBatch(batchId, { first: 1000 });
  const out = new Map<string, { tensor: string; rendering: string; passed: boolean }>();
  for (const job of jobs) {
    const m = await t.store.metamers.findByJob(job.id);
    if (m) out.set(`${m.stimulusId}/${m.stage}`, { tensor: m.tensorSha256, rendering: m.renderingSha256, passed: m.passed });
  }
  return { jobs, metamers: out };
}

describe("serverless rehearsal", () => {
  it("24 lenet jobs through the Lambda handlers with continuations: all metamers in S3, none duplicated, bit-identical to the local pool", async () => {
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 8);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, pngs);
    const request = {
      modelId: model.model.id,
      stages: ["relu1", "relu2", "fc1_relu"],
      stimulusIds: stimuli.map((s) => s.id),
      config: { rounds: 2, stepsPerRound: 60 },
      seed: 7,
    };
    const mutation = `mutation($i: SynthesizeMetamersInput!) { synthesizeMetamers(input: $i) { id jobs(first: 100) { id } } }`;

    // --- the cloud: the API function enqueues and dispatches, the synthesis function runs and continues ---
    const started = Date.now();
    const { synthesizeMetamers: cloud } = await gql(mutation, { i: request });
    expect(cloud.jobs).toHaveLength(24);
    await until(async () => {
      const c = await t.store.jobs.countsByBatch(cloud.id);
      return c.succeeded + c.failed + c.cancelled === 24 && invoke.idle;
    }, 240_000, "the Lambda batch");
    const cloudMs = Date.now() - started;

    expect(invoke.errors).toEqual([]);
    expect(await t.store.jobs.countsByBatch(cloud.id)).toEqual({ queued: 0, running: 0, succeeded: 24, failed: 0, cancelled: 0 });
    const yielded = invoke.results.filter((r) => r.result === "yielded");
    // every synthesis job was continued at least once, and finished in a later invocation
    expect(new Set(yielded.map((r) => r.jobId))).toEqual(new Set(cloud.jobs.map((j: { id: string }) => j.id)));
    expect(invoke.maxConcurrent).toBe(N);
    const cloudRun = await metamersOf(cloud.id);
    // exactly one metamer per job, none twice
    expect(await t.store.metamers.countByBatch(cloud.id)).toBe(24);
    expect(cloudRun.metamers.size).toBe(24);
    expect((await t.store.metamers.idsByJobs(cloudRun.jobs.map((j) => j.id))).size).toBe(24);
    // every metamer's tensor and rendering are objects in the bucket, and their rows say so
    const keys = new Set(await s3.keys());
    for (const m of cloudRun.metamers.values()) {
      expect(keys.has(`blobs/${m.tensor}`)).toBe(true);
      expect(keys.has(`blobs/${m.rendering}`)).toBe(true);
      expect(Buffer.from((await t.store.blobs.get(m.tensor))!).byteLength).toBe(28 * 28 * 4);
    }
    // nothing left half-written, and no object without its row (or row without its object)
    expect([...keys].filter((k) => !k.startsWith("blobs/"))).toEqual([]);
    const rows = await t.store.countRows();
    expect(rows.BlobChunk).toBe(0);
    expect(rows.Blob).toBe(keys.size);

    // --- the same batch on the local worker pool ---
    const pool = new LocalWorkerPool({ size: 2, database: t.database, config: t.app.config, log: pino({ level: "silent" }), store: t.store, pollMs: 200 });
    await pool.start();
    try {
      t.app.services.synthesis.useDispatcher(pool);
      const localStarted = Date.now();
      const { synthesizeMetamers: local } = await gql(mutation, { i: request });
      expect(local.id).not.toBe(cloud.id);
      await until(async () => {
        const c = await t.store.jobs.countsByBatch(local.id);
        return c.succeeded + c.failed + c.cancelled === 24;
      }, 240_000, "the local pool's batch");
      const localMs = Date.now() - localStarted;
      const localRun = await metamersOf(local.id);
      expect(localRun.metamers.size).toBe(24);
      // bit-identical: the same tensors and renderings (content addresses) and the same validation outcome
      expect(Object.fromEntries(localRun.metamers)).toEqual(Object.fromEntries(cloudRun.metamers));
      console.log(
        `rehearsal: ${invoke.results.length} invocations (${yielded.length} continuations, at most ${invoke.maxConcurrent} at once) in ${cloudMs} ms; local pool (2 workers) ${localMs} ms`,
      );
    } finally {
      await pool.close();
    }
  }, 600_000);
});
