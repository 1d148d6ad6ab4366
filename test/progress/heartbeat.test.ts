// Issue 13 item 5: a running job reports steps, total and loss as it runs, with throttled heartbeat writes (no write
// per step), through the real worker pool (a child process running the real handler on lenet). A trigger on the real
// PostgreSQL logs every write of a job's progress columns, so the test sees each heartbeat row as it was written.
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalWorkerPool, type PoolJobEvent } from "../../src/dispatch/local-pool.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

const PROGRESS_MS = 250;
const ROUNDS = 4;
const STEPS_PER_ROUND = 1000;

let t: TestApp;
let pool: LocalWorkerPool;
let db: pg.Client;
let ctx: RequestContext;

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("progress-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
  db = new pg.Client(t.database);
  await db.connect();
  await db.query(`CREATE TABLE progress_log ("jobId" uuid, "iteration" int, "totalIterations" int, "status" text, "loss" float8, "at" timestamptz DEFAULT clock_timestamp())`);
  await db.query(`CREATE FUNCTION log_progress() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO progress_log ("jobId", "iteration", "totalIterations", "status", "loss") VALUES (NEW."id", NEW."iteration", NEW."totalIterations", NEW."status", NEW."loss");
      RETURN NEW; END $$`);
  await db.query(`CREATE TRIGGER job_progress AFTER UPDATE ON "Job" FOR EACH ROW
      WHEN (NEW."progressAt" IS DISTINCT FROM OLD."progressAt") EXECUTE FUNCTION log_progress()`);
});
afterAll(async () => {
  await pool?.close();
  await db?.end();
  await t?.close();
});

describe("job heartbeats", () => {
  it("writes throttled progress rows while a job runs on the worker pool, and none after it ended; the batch ETA is null, then positive", async () => {
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2));
    pool = new LocalWorkerPool({ size: 1, database: t.database, config: t.app.config, log: pino({ level: "silent" }), store: t.store, pollMs: 100, progressMs: PROGRESS_MS });
    await pool.start();
    // No checkpoint within the job: every mid-job row must come from a heartbeat.
    const service = new SynthesisService(t.store, t.services.models, pool, { nullPairs: 20, checkpointEvery: 1_000_000 });
    const finished = new Promise<void>((resolve) => pool.events.on("job", (e: PoolJobEvent) => e.type === "finished" && e.kind === "SYNTHESIS" && resolve()));
    const view = await service.synthesize(ctx, { modelId: model.model.id, stages: ["relu1"], stimulusIds: [stimuli[0].id], config: { rounds: ROUNDS, stepsPerRound: STEPS_PER_ROUND } });
    const jobId = view.jobs[0].id;
    const total = ROUNDS * STEPS_PER_ROUND;

    // The batch's ETA as a client polling it would see it, until the job ends.
    const etas: (number | null)[] = [(await service.progress(ctx, view.batch.id))!.etaSeconds];
    let running = true;
    void finished.then(() => (running = false));
    while (running) {
      etas.push((await service.progress(ctx, view.batch.id))!.etaSeconds);
      await new Promise((r) => setTimeout(r, 100));
    }
    await finished;
    const afterEnd = (await db.query(`SELECT count(*)::int AS n FROM progress_log WHERE "jobId" = $1`, [jobId])).rows[0].n;
    await new Promise((r) => setTimeout(r, 4 * PROGRESS_MS));

    const rows = (await db.query(`SELECT * FROM progress_log WHERE "jobId" = $1 ORDER BY "at"`, [jobId])).rows;
    const whileRunning = rows.filter((r) => r.status === "RUNNING");
    // Rows appear as it runs: several mid-job reports, each with the schedule's total and a loss, steps increasing.
    expect(whileRunning.filter((r) => r.iteration > 0 && r.iteration < total).length).toBeGreaterThanOrEqual(3);
    for (const r of whileRunning) {
      expect(r.totalIterations).toBe(total);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
    const its = whileRunning.map((r) => r.iteration);
    expect(its).toEqual([...its].sort((a, b) => a - b));
    // Throttled: far fewer writes than steps (one per step would be `total`).
    expect(rows.length).toBeLessThan(total / 20);
    // And they stop at the end: the last row is the job's completion, nothing was written after it.
    expect(rows.at(-1)).toMatchObject({ status: "SUCCEEDED", iteration: total });
    expect(rows.length).toBe(afterEnd);
    const job = (await t.store.jobs.find(jobId))!;
    expect(job.stepsPerSecond).toBeGreaterThan(0);

    // No rate before the job ran; a positive ETA while it ran; 0 at the end.
    expect(etas[0]).toBeNull();
    expect(etas.some((e) => e !== null && e > 0)).toBe(true);
    expect((await service.progress(ctx, view.batch.id))!.etaSeconds).toBe(0);
  }, 240_000);
});
