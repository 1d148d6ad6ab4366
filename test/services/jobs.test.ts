import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { JobHandlerRegistry, JobQueue, type JobHandler } from "../../src/services/jobs.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const silent = pino({ level: "silent" });
let db: TestDatabase;
let groupId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  groupId = (await db.store.groups.createGroup(`jobs-${randomUUID()}`)).id;
});
afterAll(async () => db?.drop());

const registryWith = (handler: JobHandler) => new JobHandlerRegistry().register("RECOGNITION", handler);

async function enqueue(n: number, maxAttempts = 3) {
  const batch = await db.store.jobs.createBatch({ groupId, modelId: randomUUID(), config: {}, seed: 0, idempotencyKey: null });
  const jobs = await db.store.jobs.enqueue(Array.from({ length: n }, () => ({ kind: "RECOGNITION" as const, groupId, batchId: batch.id, maxAttempts })));
  return { batch, jobs };
}

describe("job queue", () => {
  it("hands each job to exactly one of several concurrent claimers (FOR UPDATE SKIP LOCKED)", async () => {
    const { jobs } = await enqueue(6);
    const ids = new Set(jobs.map((j) => j.id));
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, k) => db.store.jobs.claim({ owner: `w${k}`, leaseMs: 60_000, kinds: ["RECOGNITION"] })),
    );
    const claimed = claims.filter((c) => c && ids.has(c.id)).map((c) => c!.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(6);
    for (const c of claims.filter(Boolean)) await db.store.jobs.succeed(c!.id, c!.leaseOwner!);
  });

  it("retries a failing job up to maxAttempts, then marks it FAILED with its error", async () => {
    const { jobs, batch } = await enqueue(1, 2);
    let calls = 0;
    const queue = new JobQueue(db.store, registryWith({ run: async () => { calls++; throw new Error("disk on fire"); } }), silent);
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("requeued");
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("failed");
    expect(await queue.runOne({ jobId: jobs[0].id })).toBeNull();
    expect(calls).toBe(2);
    const job = (await db.store.jobs.find(jobs[0].id))!;
    expect(job).toMatchObject({ status: "FAILED", attempts: 2, errorCode: "INTERNAL_SERVER_ERROR", errorMessage: "disk on fire" });
    expect(await db.store.jobs.countsByBatch(batch.id)).toMatchObject({ failed: 1 });
  });

  it("fails at once on a permanent error and keeps the checkpoint", async () => {
    const { jobs } = await enqueue(1, 3);
    const queue = new JobQueue(
      db.store,
      registryWith({
        run: async (ctx) => {
          await ctx.progress({ iteration: 10, totalIterations: 100, loss: 0.5 }, new Uint8Array([1, 2, 3]));
          throw new AppError("NON_FINITE_LOSS", "loss became NaN at iteration 11");
        },
      }),
      silent,
    );
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("failed");
    const job = (await db.store.jobs.find(jobs[0].id))!;
    expect(job).toMatchObject({ status: "FAILED", attempts: 1, errorCode: "NON_FINITE_LOSS", iteration: 10, loss: 0.5, hasCheckpoint: true });
    expect(Array.from((await db.store.jobs.checkpoint(jobs[0].id))!)).toEqual([1, 2, 3]);
  });

  it("gives a job whose lease expired to another worker; the first one can no longer write", async () => {
    const { jobs } = await enqueue(1);
    const first = await db.store.jobs.claim({ owner: "slow", leaseMs: 100, kinds: ["RECOGNITION"], jobId: jobs[0].id });
    expect(first?.id).toBe(jobs[0].id);
    expect(await db.store.jobs.claim({ owner: "eager", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id })).toBeNull();
    await new Promise((r) => setTimeout(r, 250));
    const second = await db.store.jobs.claim({ owner: "eager", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id });
    expect(second).toMatchObject({ id: jobs[0].id, attempts: 2, leaseOwner: "eager" });
    expect(await db.store.jobs.heartbeat(jobs[0].id, "slow", 1000)).toBe(false);
    expect(await db.store.jobs.succeed(jobs[0].id, "slow")).toBe(false);
    expect(await db.store.jobs.succeed(jobs[0].id, "eager")).toBe(true);
  });

  it("stops a running handler when its batch is cancelled, and writes nothing for it", async () => {
    const { jobs, batch } = await enqueue(2);
    let sawStop = false;
    const queue = new JobQueue(
      db.store,
      registryWith({
        run: async (ctx) => {
          await db.store.jobs.cancelBatch(batch.id);
          for (let i = 0; i < 100 && !ctx.stopRequested(); i++) await new Promise((r) => setTimeout(r, 20));
          sawStop = ctx.stopRequested();
          await ctx.complete(async () => {
            throw new Error("must not be reached");
          });
          return "completed";
        },
      }),
      silent,
      { leaseMs: 300, heartbeatMs: 50 },
    );
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("cancelled");
    expect(sawStop).toBe(true);
    expect(await db.store.jobs.countsByBatch(batch.id)).toMatchObject({ cancelled: 2, succeeded: 0, queued: 0, running: 0 });
  });

  it("releases a yielded job without spending an attempt", async () => {
    const { jobs } = await enqueue(1, 1);
    let n = 0;
    const queue = new JobQueue(db.store, registryWith({ run: async (ctx) => (++n < 3 ? "yielded" : (await ctx.complete(async () => {}), "completed")) }), silent);
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("yielded");
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("yielded");
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("succeeded");
    expect(await db.store.jobs.find(jobs[0].id)).toMatchObject({ status: "SUCCEEDED", attempts: 1 });
  });
});
