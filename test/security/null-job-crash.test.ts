// Fault: a crash during a null-distribution job changed validation verdicts. New workers took the
// synthesis jobs that waited for the null inside their worker slot; the null job's lease expired but no worker was
// free to resume it, and after 600 s the metamers were stored with passed = false ("null distribution job … was still
// RUNNING"). Now a synthesis job is not claimable before its null job succeeded (Job.dependsOnId): a crash delays a
// verdict and never changes it, and a null job that fails for good fails its synthesis jobs with the reason.
//
// The kill is simulated the way the queue sees one: a worker claims the null job and never heartbeats or completes.
// Time is the workers' injected clock, moved past the lease instead of waited for.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoDispatcher } from "../../src/services/ports.js";
import { createJobHandlers } from "../../src/worker.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { DEPENDENCY_FAILED, JobQueue } from "../../src/services/jobs/queue.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

const LEASE_MS = 30_000;
const silent = pino({ level: "silent" });

let t: TestApp;
let ctx: RequestContext;
let modelId: string;
let pngs: string[];
let handlers: ReturnType<typeof createJobHandlers>;
let service: SynthesisService;
let nowMs = Date.now();
const clock = () => new Date(nowMs);
/** Two live workers on the moved clock (the "new workers" of the report). */
let workers: JobQueue[];

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("null-crash-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
  modelId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 5);
  handlers = createJobHandlers({ store: t.store, config: t.app.config, log: silent });
  service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { nullPairs: 10, checkpointEvery: 40 });
  workers = [1, 2].map((k) => new JobQueue(t.store, handlers.registry, silent, { owner: `live-${k}`, leaseMs: LEASE_MS, clock }));
});
afterAll(async () => {
  await handlers?.close();
  await t?.close();
});

/** The same request on a new stimulus set of the same files: a fresh null job, and (seeded) the same metamers. */
async function submit(setName: string) {
  const { stimuli, set } = await addImageSet(t.services, ctx, modelId, pngs, setName);
  const view = await service.synthesize(ctx, {
    modelId,
    stages: [LENET_STAGES.fc1_relu, LENET_STAGES.final],
    stimulusIds: stimuli.slice(0, 2).map((s) => s.id),
    config: { rounds: 2, stepsPerRound: 60 },
    seed: 3,
  });
  const [nullJob] = await t.store.jobs.pendingNullJobs(modelId, set.id);
  const synthesisIds = view.jobs.map((j) => j.id);
  expect(synthesisIds).toHaveLength(4);
  for (const id of synthesisIds) expect((await t.store.jobs.find(id))!.dependsOnId).toBe(nullJob.id);
  return { batchId: view.batch.id, nullJobId: nullJob.id, synthesisIds, stimulusIds: stimuli.map((s) => s.id) };
}

/** Runs jobs on the live workers, alternating, until neither can claim one; "KIND:result" per job. */
async function drain(): Promise<string[]> {
  const ran: string[] = [];
  for (let turn = 0, idle = 0; idle < workers.length; turn++) {
    const r = await workers[turn % workers.length].runOne();
    if (r) ran.push(`${r.job.kind}:${r.result}`);
    idle = r ? 0 : idle + 1;
  }
  return ran;
}

/** The kill: `owner` claims the null job (lease on the workers' clock) and then never heartbeats or completes. */
async function claimAndDie(nullJobId: string, owner: string) {
  const held = await t.store.jobs.claim({ owner, leaseMs: LEASE_MS, kinds: ["NULL_DISTRIBUTION"], jobId: nullJobId, now: clock() });
  expect(held?.id).toBe(nullJobId);
}

/** Each synthesis job's verdict, keyed by (position of its stimulus in its set, stage). */
async function verdicts(run: { synthesisIds: string[]; stimulusIds: string[] }) {
  const out: Record<string, unknown> = {};
  const nullSets = new Set<string>();
  for (const id of run.synthesisIds) {
    const job = (await t.store.jobs.find(id))!;
    expect(job).toMatchObject({ status: "SUCCEEDED", errorCode: null });
    const metamer = (await t.store.metamers.findByJob(id))!;
    // Each run synthesizes from its own stimulus set, which is its null's source: one set per run, named apart.
    const certificate = JSON.parse(JSON.stringify(metamer.certificate), (key, value) => {
      if (key !== "setId") return value;
      nullSets.add(String(value));
      return "<this run's set>";
    });
    out[`${run.stimulusIds.indexOf(job.stimulusId!)}|${job.stage}`] = { passed: metamer.passed, certificate };
  }
  expect(nullSets.size).toBe(1);
  return out;
}

describe("a crash during a null-distribution job", () => {
  it("delays the verdicts and leaves them what they are without the crash", async () => {
    // Without a crash.
    const clean = await submit("clean");
    const cleanRan = await drain();
    expect(cleanRan.filter((r) => r !== "RECOGNITION:succeeded")).toEqual(["NULL_DISTRIBUTION:succeeded", ...Array(4).fill("SYNTHESIS:succeeded")]);
    const expected = await verdicts(clean);

    // The same request; the worker running its null job is killed.
    const crashed = await submit("crashed");
    await claimAndDie(crashed.nullJobId, "killed-worker");
    // The live workers find nothing to do: they neither take the synthesis jobs into a slot to wait nor run them
    // without their null. (Before the fix they took them and waited up to 600 s, then stored passed = false.)
    for (const w of workers) expect(await w.runOne()).toBeNull();
    for (const id of crashed.synthesisIds) expect(await t.store.jobs.find(id)).toMatchObject({ status: "QUEUED", attempts: 0, leaseOwner: null });

    // The dead worker's lease runs out: a live worker resumes the null job, then the synthesis jobs run.
    nowMs += LEASE_MS + 1;
    const ran = await drain();
    expect(ran.filter((r) => r !== "RECOGNITION:succeeded")).toEqual(["NULL_DISTRIBUTION:succeeded", ...Array(4).fill("SYNTHESIS:succeeded")]);
    expect(await t.store.jobs.find(crashed.nullJobId)).toMatchObject({ status: "SUCCEEDED", attempts: 2 });
    expect(await t.store.jobs.countsByBatch(crashed.batchId)).toEqual({ queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    // Same files, seed and null: bit-identical certificates, so the same verdicts (and no "still RUNNING" anywhere).
    const got = await verdicts(crashed);
    expect(got).toEqual(expected);
    expect(JSON.stringify(got)).not.toMatch(/still|nullUnavailable/);
  });

  it("fails the synthesis jobs with the reason when the null job is lost on its last attempt", async () => {
    const lost = await submit("lost");
    // Killed on every attempt (maxAttempts 3): each time the lease runs out before anyone else may take it.
    for (const owner of ["killed-1", "killed-2", "killed-3"]) {
      await claimAndDie(lost.nullJobId, owner);
      nowMs += LEASE_MS + 1;
    }
    const ran = await drain();
    expect(ran).toEqual(Array(4).fill("SYNTHESIS:failed"));
    expect(await t.store.jobs.find(lost.nullJobId)).toMatchObject({ status: "FAILED", errorCode: "WORKER_LOST", attempts: 3 });
    for (const id of lost.synthesisIds) {
      const job = (await t.store.jobs.find(id))!;
      expect(job).toMatchObject({ status: "FAILED", errorCode: DEPENDENCY_FAILED, attempts: 1, iteration: 0 });
      expect(job.errorMessage).toContain(`the null distribution job ${lost.nullJobId} this job needs failed (WORKER_LOST:`);
    }
    // No verdict at all rather than a wrong one.
    expect(await t.store.metamers.countByBatch(lost.batchId)).toBe(0);
  });
});
