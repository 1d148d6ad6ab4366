import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { DEPENDENCY_FAILED, JobHandlerRegistry, JobLostError, JobQueue, type JobHandler } from "../../src/services/jobs/queue.js";
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
    // An unexpected error is stored as INTERNAL with a reference id only (test/security/internal-error-leak.test.ts
    // checks that the log holds the details under that id).
    expect(job).toMatchObject({ status: "FAILED", attempts: 2, errorCode: "INTERNAL" });
    expect(job.errorMessage).toMatch(/^internal error \(reference [0-9a-f-]{36}\)/);
    expect(job.errorMessage).not.toContain("disk on fire");
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
    // Time is passed in, not waited for: the lease runs out when the clock says so.
    const t0 = new Date();
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const first = await db.store.jobs.claim({ owner: "slow", leaseMs: 100, kinds: ["RECOGNITION"], jobId: jobs[0].id, now: t0 });
    expect(first?.id).toBe(jobs[0].id);
    expect(first!.leaseExpiresAt!.getTime()).toBe(at(100).getTime());
    expect(await db.store.jobs.claim({ owner: "eager", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id, now: at(99) })).toBeNull();
    const second = await db.store.jobs.claim({ owner: "eager", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id, now: at(101) });
    expect(second).toMatchObject({ id: jobs[0].id, attempts: 2, leaseOwner: "eager" });
    expect(await db.store.jobs.heartbeat(jobs[0].id, "slow", 1000)).toBe(false);
    expect(await db.store.jobs.succeed(jobs[0].id, "slow")).toBe(false);
    expect(await db.store.jobs.succeed(jobs[0].id, "eager")).toBe(true);
  });

  it("stops a running handler when its batch is cancelled, and writes nothing for it", async () => {
    const { jobs, batch } = await enqueue(2);
    let sawStop = false;
    let stopBefore: boolean | null = null;
    let progressError: unknown = null;
    const queue = new JobQueue(
      db.store,
      registryWith({
        run: async (ctx) => {
          await db.store.jobs.cancelBatch(batch.id);
          // The next heartbeat (the one progress() sends; the timer sends the same one) finds the job cancelled.
          stopBefore = ctx.stopRequested();
          progressError = await ctx.progress({ iteration: 1, totalIterations: 2, loss: null }).then(() => null, (e: unknown) => e);
          sawStop = ctx.stopRequested();
          await ctx.complete(async () => {
            throw new Error("must not be reached");
          });
          return "completed";
        },
      }),
      silent,
    );
    expect((await queue.runOne({ jobId: jobs[0].id }))!.result).toBe("cancelled");
    expect(stopBefore).toBe(false);
    expect(progressError).toBeInstanceOf(JobLostError);
    expect(sawStop).toBe(true);
    expect(await db.store.jobs.countsByBatch(batch.id)).toMatchObject({ cancelled: 2, succeeded: 0, queued: 0, running: 0 });
  });

  it("frees a dead owner's jobs at once (expireLeasesOf), leaving other owners' leases alone", async () => {
    const { jobs } = await enqueue(2);
    const t0 = new Date();
    await db.store.jobs.claim({ owner: "pool-1-111", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id, now: t0 });
    await db.store.jobs.claim({ owner: "pool-2-222", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[1].id, now: t0 });
    expect(await db.store.jobs.expireLeasesOf("pool-1-111", t0)).toEqual([jobs[0].id]);
    // Claimable at the same instant, resumed as a new attempt; the live owner's job is still held.
    expect(await db.store.jobs.claim({ owner: "pool-3-333", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[0].id, now: t0 })).toMatchObject({ attempts: 2 });
    expect(await db.store.jobs.claim({ owner: "pool-3-333", leaseMs: 60_000, kinds: ["RECOGNITION"], jobId: jobs[1].id, now: t0 })).toBeNull();
    for (const [id, owner] of [[jobs[0].id, "pool-3-333"], [jobs[1].id, "pool-2-222"]]) expect(await db.store.jobs.succeed(id, owner)).toBe(true);
  });

  it("fails a job whose worker died on its last attempt once the queue's clock passes the lease", async () => {
    const { jobs } = await enqueue(1, 1);
    let now = new Date();
    const queue = new JobQueue(db.store, registryWith({ run: async () => "completed" }), silent, { leaseMs: 5_000, clock: () => now });
    // The worker that "dies": it claims the job and never heartbeats or completes.
    await db.store.jobs.claim({ owner: "dead", leaseMs: 5_000, kinds: ["RECOGNITION"], jobId: jobs[0].id, now });
    expect(await queue.runOne({ jobId: jobs[0].id })).toBeNull();
    expect(await db.store.jobs.status(jobs[0].id)).toBe("RUNNING");
    now = new Date(now.getTime() + 5_001);
    expect(await queue.runOne({ jobId: jobs[0].id })).toBeNull();
    expect(await db.store.jobs.find(jobs[0].id)).toMatchObject({ status: "FAILED", errorCode: "WORKER_LOST", attempts: 1 });
  });

  describe("dependencies (Job.dependsOnId)", () => {
    it("does not hand out a dependent job before its dependency succeeded, even while that one's worker is dead", async () => {
      const { batch, jobs: [dependency] } = await enqueue(1);
      const [dependent] = await db.store.jobs.enqueue([{ kind: "RECOGNITION", groupId, batchId: batch.id, dependsOnId: dependency.id }]);
      expect(dependent.dependsOnId).toBe(dependency.id);
      const t0 = new Date();
      const at = (ms: number) => new Date(t0.getTime() + ms);
      const claimDependent = (now: Date) => db.store.jobs.claim({ owner: "w", leaseMs: 1_000, kinds: ["RECOGNITION"], jobId: dependent.id, now });
      expect(await claimDependent(t0)).toBeNull(); // dependency QUEUED
      await db.store.jobs.claim({ owner: "dies", leaseMs: 1_000, kinds: ["RECOGNITION"], jobId: dependency.id, now: t0 });
      expect(await claimDependent(t0)).toBeNull(); // dependency RUNNING
      // Its lease expired: the next claim of any job of these kinds takes the dependency back, never the dependent.
      const kinds = ["RECOGNITION" as const];
      const resumed = await db.store.jobs.claim({ owner: "alive", leaseMs: 1_000, kinds, now: at(1_001) });
      expect(resumed).toMatchObject({ id: dependency.id, attempts: 2 });
      expect(await claimDependent(at(1_001))).toBeNull();
      expect(await db.store.jobs.queuedDependentsOf(dependency.id)).toEqual([dependent.id]);
      expect(await db.store.jobs.succeed(dependency.id, "alive")).toBe(true);
      expect(await claimDependent(at(1_002))).toMatchObject({ id: dependent.id, attempts: 1, status: "RUNNING" });
      expect(await db.store.jobs.queuedDependentsOf(dependency.id)).toEqual([]);
    });

    it("fails a dependent job at its claim, without running it, when its dependency failed for good", async () => {
      const { batch, jobs: [dependency] } = await enqueue(1, 1);
      const [dependent] = await db.store.jobs.enqueue([{ kind: "RECOGNITION", groupId, batchId: batch.id, dependsOnId: dependency.id }]);
      const ran: string[] = [];
      const queue = new JobQueue(
        db.store,
        registryWith({
          run: async (ctx) => {
            ran.push(ctx.job.id);
            throw new AppError("BAD_USER_INPUT", "stimulus set s: a null distribution needs at least 2 stimuli, the set has 1");
          },
        }),
        silent,
      );
      expect((await queue.runOne({ jobId: dependency.id }))!.result).toBe("failed");
      expect((await queue.runOne({ jobId: dependent.id }))!.result).toBe("failed");
      expect(ran).toEqual([dependency.id]);
      const job = (await db.store.jobs.find(dependent.id))!;
      expect(job).toMatchObject({ status: "FAILED", errorCode: DEPENDENCY_FAILED, attempts: 1 });
      expect(job.errorMessage).toContain(`job ${dependency.id} this job needs failed (BAD_USER_INPUT: stimulus set s: a null distribution needs at least 2 stimuli`);
    });
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
