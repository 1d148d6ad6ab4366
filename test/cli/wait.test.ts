// `metamers synthesize --wait` against a real test server (HTTP, GraphQL, PostgreSQL) with a real worker running the
// jobs (issue 13 item 5). Regressions: the batch id was never printed; the total was `counts.queued` at creation,
// so a replay (same idempotency key, jobs already running) printed "7/0 done" and exited, and a partly started batch
// crashed the bar with "Invalid count value: -10".
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetamersClient } from "../../src/cli/client.js";
import { JobsFailedError } from "../../src/cli/exit-codes.js";
import { ProgressDisplay } from "../../src/cli/progress.js";
import { synthesizeCommand } from "../../src/cli/synthesis-commands.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { JobQueue, JobWorker } from "../../src/services/jobs/queue.js";
import { createJobHandlers } from "../../src/worker.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let client: MetamersClient;
let ctx: RequestContext;
let modelId: string;
let setId: string;
let worker: JobWorker;
let closeHandlers: () => Promise<void>;

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("cli-wait", "MEMBER");
  client = new MetamersClient(t.url, issued.key);
  ctx = { groupId: issued.groupId, role: "MEMBER", apiKeyId: "test" };
  modelId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  setId = (await addImageSet(t.services, ctx, modelId, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2))).set.id;
  const log = pino({ level: "silent" });
  const handlers = createJobHandlers({ store: t.store, config: t.app.config, log });
  closeHandlers = handlers.close;
  worker = new JobWorker(new JobQueue(t.store, handlers.registry, log, { progressMs: 100 }), { pollMs: 100 });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await closeHandlers?.();
  await t?.close();
});

/** stdout and stderr of one command, and the order they were written in. */
function capture() {
  const events: { to: "out" | "err"; text: string }[] = [];
  return {
    events,
    out: { write: (text: string) => events.push({ to: "out", text }) },
    err: { write: (text: string) => events.push({ to: "err", text }) },
    lines: (to: "out" | "err") => events.filter((e) => e.to === to).map((e) => e.text).join("").trim().split("\n"),
  };
}

const args = (key: string, steps = 150) => ["--model", modelId, "--stages", "relu1,pool1", "--set", setId, "--rounds", "2", "--steps", String(steps), "--idempotency-key", key];
const BAR_LINE = /^\[[#-]{30}\] \d+\/4 jobs done \(\d running, \d succeeded, \d failed\)( ETA (--|\d+s|\d+m \d\ds))?$/;

describe("synthesize --wait", () => {
  it("prints the batch id first, then a bar on stderr that reaches the batch's real job count (a line per ~10% off a terminal)", async () => {
    const io = capture();
    await synthesizeCommand([...args("first"), "--wait"], client, io.out, { err: io.err, tty: false, pollMs: 100 });
    expect(io.events[0].to).toBe("out");
    const [head, ...results] = io.lines("out");
    const batchId = /^batch ([0-9a-f-]{36}): 4 jobs, 0 done; waiting for them$/.exec(head)?.[1];
    expect(batchId).toBeDefined();
    expect((await t.services.synthesis.progress(ctx, batchId!))).toMatchObject({ jobsTotal: 4, jobsSucceeded: 4 });
    expect(results.filter((l) => l.includes(" metamer "))).toHaveLength(4);
    const bar = io.lines("err");
    for (const l of bar) expect(l).toMatch(BAR_LINE);
    expect(bar.at(-1)).toBe(`[${"#".repeat(30)}] 4/4 jobs done (0 running, 4 succeeded, 0 failed)`);
    expect(bar.length).toBeLessThanOrEqual(12);
  }, 180_000);

  it("waits for the running jobs of an idempotent replay instead of exiting", async () => {
    const first = capture();
    await synthesizeCommand(args("replayed", 250), client, first.out, { err: first.err });
    const batchId = /^batch ([0-9a-f-]{36}): 4 jobs/.exec(first.lines("out")[0])![1];
    // Replayed once the worker is on the batch: some jobs have left the queue, so "queued" is less than the total.
    for (let c = await t.store.jobs.countsByBatch(batchId); c.queued === 4; c = await t.store.jobs.countsByBatch(batchId)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const replay = capture();
    await synthesizeCommand([...args("replayed", 250), "--wait"], client, replay.out, { err: replay.err, tty: false, pollMs: 100 });
    expect(replay.lines("out")[0]).toMatch(new RegExp(`^batch ${batchId}: 4 jobs, \\d done; waiting for them$`));
    // It returned only once every job had ended.
    expect(await t.store.jobs.countsByBatch(batchId)).toMatchObject({ queued: 0, running: 0, succeeded: 4 });
    expect(replay.lines("err").at(-1)).toBe(`[${"#".repeat(30)}] 4/4 jobs done (0 running, 4 succeeded, 0 failed)`);
  }, 180_000);

  it("ends with JobsFailedError (exit code 4) when jobs were cancelled, after printing the results; --json prints one object", async () => {
    const io = capture();
    let cancelled: Promise<unknown> | undefined;
    // The batch is cancelled as soon as it exists (another client of the same group), while --wait follows it.
    const waiting = synthesizeCommand([...args("cancelled", 400), "--wait", "--json"], client, io.out, { err: io.err, tty: false, pollMs: 100 });
    for (;;) {
      const batch = await t.store.jobs.findBatchByIdempotencyKey(ctx.groupId, "cancelled");
      if (batch) {
        cancelled = t.services.synthesis.cancel(ctx, batch.id);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await cancelled;
    const error = await waiting.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(JobsFailedError);
    expect((error as JobsFailedError).cancelled).toBeGreaterThan(0);
    const json = io.lines("out");
    expect(json).toHaveLength(1);
    const body = JSON.parse(json[0]);
    expect(body.results).toHaveLength(4);
    expect(body.results.filter((r: { status: string }) => r.status === "CANCELLED").length).toBe((error as JobsFailedError).cancelled);
  }, 180_000);
});

describe("the progress display", () => {
  it("redraws one line on a terminal and prints a line per 10% elsewhere, always the final state", () => {
    let tty = "";
    const bar = new ProgressDisplay({ write: (s: string) => (tty += s) }, { tty: true, width: 4 });
    bar.update(0.5, "half");
    bar.update(1, "all", true);
    bar.done();
    expect(tty).toBe("\r[##--] half\x1b[K\r[####] all\x1b[K\n");
    let log = "";
    const lines = new ProgressDisplay({ write: (s: string) => (log += s) }, { tty: false, width: 4 });
    for (let i = 0; i <= 100; i++) lines.update(i / 100, `${i}%`);
    lines.update(1, "finished", true);
    expect(log.trim().split("\n")).toEqual([...Array.from({ length: 11 }, (_, i) => `[${"#".repeat(Math.round((i / 10) * 4))}${"-".repeat(4 - Math.round((i / 10) * 4))}] ${i * 10}%`), "[####] finished"]);
  });
});
