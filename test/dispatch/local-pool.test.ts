// Acceptance: 200 queued jobs on the local pool finish with exactly 200 metamers, none lost or duplicated, while a
// worker is SIGKILLed twice mid-job (its job resumes from the checkpoint on another worker).
// Nothing here sleeps: the test acts on the pool's events (a checkpoint saved, a job finished, a worker lost), and the
// killed worker's job is freed when the pool sees it exit; the lease is far longer than the test may take.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalWorkerPool, type PoolJobEvent, type PoolWorkerLost } from "../../src/dispatch/local-pool.js";
import type { RequestContext } from "../../src/services/authorization.js";
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
      store: t.store,
      // Waiting for a lease would take longer than the test's time limit: a killed worker's job can only resume
      // because the pool freed it on the worker's exit.
      leaseMs: 10 * 60_000,
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

    const killed: { pid: number; jobIds: string[]; freed: string[] }[] = [];
    const lost = new Map<number, (e: PoolWorkerLost) => void>();
    pool.events.on("worker-lost", (e: PoolWorkerLost) => lost.get(e.pid)?.(e));
    let succeeded = 0;
    // Handled one event at a time, in order (a kill must not race the next event's count).
    let queue = Promise.resolve();
    const finished = new Promise<void>((resolve, reject) => {
      pool.events.on("job", (e: PoolJobEvent) => {
        queue = queue.then(() => onEvent(e, resolve)).catch(reject);
      });
    });
    const onEvent = async (e: PoolJobEvent, resolve: () => void) => {
      if (e.type === "finished" && e.kind === "SYNTHESIS" && e.result === "succeeded") succeeded++;
      // Kill a worker that is mid-job with a checkpoint, once after 20 and once after 100 finished jobs. It is frozen
      // first (SIGSTOP), so what it holds cannot change while we look: killed only while it holds a RUNNING job.
      const due = (killed.length === 0 && succeeded >= 20) || (killed.length === 1 && succeeded >= 100);
      // (A dead worker's last messages can still arrive: only a live one is stopped.)
      if (e.type === "checkpoint" && due && pool.pids().includes(e.pid)) {
        process.kill(e.pid, "SIGSTOP");
        const held = (await t.store.jobs.listByBatch(view.batch.id, { status: "RUNNING" })).filter((j) => j.leaseOwner?.endsWith(`-${e.pid}`) && j.hasCheckpoint);
        if (held.length === 0) return void process.kill(e.pid, "SIGCONT"); // it finished that job already: next one
        const freed = new Promise<PoolWorkerLost>((r) => lost.set(e.pid, r));
        process.kill(e.pid, "SIGKILL");
        const k = { pid: e.pid, jobIds: held.map((j) => j.id), freed: (await freed).jobIds };
        killed.push(k);
        // Checked here, not at the end: a job left to its 10-minute lease would only show as a timeout.
        expect(k.freed).toEqual(k.jobIds);
      }
      if (e.type === "finished") {
        const counts = await t.store.jobs.countsByBatch(view.batch.id);
        if (counts.succeeded + counts.failed + counts.cancelled === 200) resolve();
      }
    };
    await finished;

    const counts = await t.store.jobs.countsByBatch(view.batch.id);
    expect(killed).toHaveLength(2);
    expect(counts).toEqual({ queued: 0, running: 0, succeeded: 200, failed: 0, cancelled: 0 });
    expect(await t.store.metamers.countByBatch(view.batch.id)).toBe(200);
    const metamerJobs = await t.store.metamers.idsByJobs(view.jobs.map((j) => j.id));
    expect(metamerJobs.size).toBe(200);
    // The killed jobs (freed when the pool saw their worker exit) were resumed, as a second attempt, by a surviving or
    // replacement worker.
    const interrupted = killed.flatMap((k) => k.jobIds);
    expect(interrupted).toHaveLength(2);
    for (const jobId of interrupted) {
      const job = (await t.store.jobs.find(jobId))!;
      expect(job.status).toBe("SUCCEEDED");
      expect(job.attempts).toBe(2);
    }
    expect(pool.pids()).toHaveLength(2); // dead workers were replaced
  }, 300_000);
});
