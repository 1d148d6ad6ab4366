// Acceptance: 200 queued jobs on the local pool finish with exactly 200 metamers, none lost or duplicated, while a
// worker is SIGKILLed twice mid-job (its job resumes from the checkpoint on another worker).
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalWorkerPool } from "../../src/dispatch/local-pool.js";
import type { RequestContext } from "../../src/services/context.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let pool: LocalWorkerPool;
let ctx: RequestContext;

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("pool-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
});
afterAll(async () => {
  await pool?.close();
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("local worker pool", () => {
  it("finishes 200 jobs with exactly 200 metamers while a worker is SIGKILLed twice", async () => {
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 40);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, pngs);

    pool = new LocalWorkerPool({
      size: 2,
      database: t.database,
      config: t.app.config,
      log: pino({ level: "silent" }),
      leaseMs: 1500,
      heartbeatMs: 300,
      pollMs: 200,
    });
    await pool.start();
    const service = new SynthesisService(t.store, t.services.models, pool, { checkpointEvery: 10, nullPairs: 50 });
    const view = await service.synthesize(ctx, {
      modelId: model.model.id,
      stages: ["relu1", "pool1", "relu2", "fc1_relu", "final"],
      stimulusIds: stimuli.map((s) => s.id),
      config: { rounds: 1, stepsPerRound: 20 },
    });
    expect(view.jobs).toHaveLength(200);

    const killed: { pid: number; jobIds: string[] }[] = [];
    const deadline = Date.now() + 240_000;
    for (;;) {
      const counts = await t.store.jobs.countsByBatch(view.batch.id);
      if (counts.succeeded + counts.failed + counts.cancelled === 200 || Date.now() > deadline) break;
      // Kill a worker that is mid-job with a checkpoint, once after ~20 and once after ~100 finished jobs.
      if ((killed.length === 0 && counts.succeeded >= 20) || (killed.length === 1 && counts.succeeded >= 100)) {
        const running = (await t.store.jobs.listByBatch(view.batch.id, { status: "RUNNING" })).filter((j) => j.hasCheckpoint && j.leaseOwner);
        const pid = running.map((j) => Number(j.leaseOwner!.split("-").at(-1))).find((p) => pool.pids().includes(p));
        if (pid) {
          process.kill(pid, "SIGKILL");
          // Whatever the dead worker held at that instant stays RUNNING under its name until the lease expires.
          const held = (await t.store.jobs.listByBatch(view.batch.id, { status: "RUNNING" })).filter((j) => j.leaseOwner?.endsWith(`-${pid}`));
          killed.push({ pid, jobIds: held.map((j) => j.id) });
        }
      }
      await sleep(200);
    }

    const counts = await t.store.jobs.countsByBatch(view.batch.id);
    expect(killed).toHaveLength(2);
    expect(counts).toEqual({ queued: 0, running: 0, succeeded: 200, failed: 0, cancelled: 0 });
    expect(await t.store.metamers.countByBatch(view.batch.id)).toBe(200);
    const metamerJobs = await t.store.metamers.idsByJobs(view.jobs.map((j) => j.id));
    expect(metamerJobs.size).toBe(200);
    // The killed jobs were resumed (second attempt) by a surviving or replacement worker.
    const interrupted = killed.flatMap((k) => k.jobIds);
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    for (const jobId of interrupted) {
      const job = (await t.store.jobs.find(jobId))!;
      expect(job.status).toBe("SUCCEEDED");
      expect(job.attempts).toBe(2);
    }
    expect(pool.pids()).toHaveLength(2); // dead workers were replaced
  }, 300_000);
});
