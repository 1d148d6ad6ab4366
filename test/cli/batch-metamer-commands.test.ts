// `metamers batches ...` and `metamers metamers ...` against a real test server (real PostgreSQL, real onnxruntime),
// with the jobs run by an in-process worker, and retrySynthesisBatch underneath `batches retry`.
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderImage } from "../../src/engine/index.js";
import { runCli } from "../../src/cli/main.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { inProcessCli } from "../helpers/cli.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, logModel, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let ctx: RequestContext;
let tmp: string;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let setId: string;
let stimulusIds: string[];

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("cli-batches", "MEMBER");
  key = issued.key;
  ctx = { groupId: issued.groupId, role: "MEMBER", apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const added = await addImageSet(t.services, ctx, lenetId, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2));
  setId = added.set.id;
  stimulusIds = added.stimuli.map((s) => s.id);
  worker = inProcessWorker(t);
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-cli-batches-"));
}, 300_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const { cli, json } = inProcessCli(() => ({ url: t.url, key, dataDir: tmp }));

const synthesize = async (modelId: string, stages: string[], ids: string[], idempotencyKey?: string) =>
  (await t.services.synthesis.synthesize(ctx, { modelId, stages, stimulusIds: ids, config: { rounds: 1, stepsPerRound: 5 }, idempotencyKey })).batch.id;

describe("metamers batches", () => {
  let done: string;

  it("lists batches by filter, newest first, and shows one with its counts and jobs", async () => {
    done = await synthesize(lenetId, ["relu1", "fc1_relu"], stimulusIds, "done-1");
    expect(await worker.drain()).toContain("SYNTHESIS:succeeded");
    const queued = await synthesize(lenetId, ["pool1"], stimulusIds.slice(0, 1));

    const listed = await json("batches", "list", "--model", lenetId);
    expect(listed.totalCount).toBe(2);
    expect(listed.batches.map((b: { id: string }) => b.id)).toEqual([queued, done]);
    expect(listed.batches[1].counts).toEqual({ queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    expect((await json("batches", "list", "--model", lenetId, "--oldest-first", "--first", "1")).batches.map((b: { id: string }) => b.id)).toEqual([done]);
    const config = listed.batches[1].configHash;
    expect((await json("batches", "list", "--config", "no-such-hash")).totalCount).toBe(0);
    expect((await json("batches", "list", "--config", config)).totalCount).toBe(2);
    expect(await cli("batches", "list")).toMatch(new RegExp(`${done}\\s+${lenetId}\\s+\\S+\\s+0\\s+0\\s+4\\s+0\\s+0\\s+${config.slice(0, 12)}`));

    const shown = await json("batches", "show", done, "--jobs");
    expect(shown).toMatchObject({ id: done, modelId: lenetId, idempotencyKey: "done-1", counts: { succeeded: 4 } });
    expect(shown.jobs).toHaveLength(4);
    expect(shown.jobs.map((j: { stageLabel: string }) => j.stageLabel).sort()).toEqual(["fc1_relu", "fc1_relu", "relu1", "relu1"]);
    // The server's progress (SynthesisBatch.progress), its scalar fields as the schema lists them.
    expect(shown.progress).toMatchObject({ jobsTotal: 4, jobsDone: 4, fraction: 1 });
    expect(shown.progress).not.toHaveProperty("byStage");
    const text = await cli("batches", "show", done, "--jobs");
    expect(text).toMatch(/jobs: 0 queued, 0 running, 4 succeeded, 0 failed, 0 cancelled\n  progress: jobsTotal 4, jobsDone 4, /);
    expect(text.match(/SUCCEEDED\s+\/relu1\/Relu_output_0\s+relu1\s+s\d\.png \(a\)\s+1\s+[0-9a-f-]{36}/g)).toHaveLength(2);

    // The batch left queued: cancel it, then retry it; every job runs to the end.
    const cancelled = await json("batches", "cancel", queued);
    expect(cancelled.counts).toMatchObject({ queued: 0, cancelled: 1 });
    expect(cancelled.cancelledAt).not.toBeNull();
    const retried = await json("batches", "retry", queued);
    expect(retried).toMatchObject({ cancelledAt: null, counts: { queued: 1, cancelled: 0 } });
    await worker.drain();
    expect((await json("batches", "show", queued)).counts).toMatchObject({ succeeded: 1, cancelled: 0 });
    expect((await json("batches", "list", "--cancelled", "false")).totalCount).toBe(2);

    // Archived: hidden from the list, shown with --archived, listed again with --undo.
    expect((await json("batches", "archive", queued)).archivedAt).not.toBeNull();
    expect((await json("batches", "list")).batches.map((b: { id: string }) => b.id)).toEqual([done]);
    expect((await json("batches", "list", "--archived")).batches.map((b: { id: string }) => b.id)).toEqual([queued]);
    expect(await cli("batches", "archive", queued, "--undo")).toBe(`listed again batch ${queued}\n`);
    expect((await json("batches", "list")).totalCount).toBe(2);
  }, 600_000);

  it("`show --wait` follows a batch until its jobs end", async () => {
    const id = await synthesize(lenetId, ["relu2"], stimulusIds);
    let text = "";
    const waiting = runCli(["batches", "show", id, "--wait", "--poll-ms", "50"], { write: (s: string) => (text += s) }, { url: t.url, apiKey: key, dataDir: tmp });
    // Jobs run only once the CLI has printed them queued: it is waiting, not reading a finished batch.
    while (!text.includes("2 queued")) await new Promise((r) => setTimeout(r, 50));
    await worker.drain();
    await waiting;
    expect(text).toMatch(new RegExp(`^batch ${id}: 2 queued, 0 running, 0 succeeded`));
    expect(text).toMatch(/jobs: 0 queued, 0 running, 2 succeeded, 0 failed, 0 cancelled/);
  }, 600_000);

  it("re-queues failed jobs and the failed null distribution they waited for; refuses a batch with nothing to retry", async () => {
    // log(x) of a black pixel is -Infinity: the set's null distribution fails, and with it the synthesis job.
    const log = await t.services.models.register(ctx, { name: "log", modality: "IMAGE", data: Buffer.from(logModel()).toString("base64") });
    const black = await renderImage(new Float32Array(16).map((_, i) => (i % 3) * 0.004), [1, 1, 4, 4], [0, 1]);
    const grey = await renderImage(new Float32Array(16).fill(0.5), [1, 1, 4, 4], [0, 1]);
    const set = await addImageSet(t.services, ctx, log.model.id, [black, grey].map((r) => Buffer.from(r.bytes).toString("base64")), "black");
    const id = await synthesize(log.model.id, ["logx"], [set.stimuli[1].id]);
    expect(await worker.drain()).toEqual(["NULL_DISTRIBUTION:failed", "SYNTHESIS:failed"]);

    const failed = await t.store.jobs.listByBatch(id);
    const nullJobId = failed[0].dependsOnId!;
    await expect(cli("batches", "show", id, "--wait")).rejects.toMatchObject({ code: "JOBS_FAILED", failed: 1, cancelled: 0 });
    expect(await json("batches", "retry", id)).toMatchObject({ counts: { queued: 1, failed: 0 } });
    expect(await t.store.jobs.find(nullJobId)).toMatchObject({ status: "QUEUED", attempts: 0, errorCode: null });
    expect(await t.store.jobs.find(failed[0].id)).toMatchObject({ status: "QUEUED", attempts: 0, errorCode: null, finishedAt: null });
    // The same input fails the same way again: retry re-ran both jobs, it did not mark them done.
    expect(await worker.drain()).toEqual(["NULL_DISTRIBUTION:failed", "SYNTHESIS:failed"]);

    const succeeded = (await json("batches", "list", "--model", lenetId, "--oldest-first")).batches[0].id;
    await expect(cli("batches", "retry", succeeded)).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/expected a batch with FAILED or CANCELLED jobs to retry, got one with 0 queued, 0 running, 4 succeeded/),
    });
    await expect(cli("batches", "retry", "00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({ code: "NOT_FOUND" });
    const reader = (await t.gql(`mutation { createApiKey(name: "r", role: READER) { key } }`, {}, (await t.createGroupWithKey("cli-batches-admin", "ADMIN")).key)).data.createApiKey.key;
    const denied = await t.gql(`mutation($id: ID!) { retrySynthesisBatch(batchId: $id) { id } }`, { id }, reader);
    expect(denied.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  }, 600_000);

  it("refuses bad flags with the usage", async () => {
    await expect(cli("batches", "list", "--bogus")).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/Unknown option '--bogus'[\s\S]*usage:\n  metamers batches list/) });
    await expect(cli("batches", "show")).rejects.toThrow(/expected one batch id, got 0 argument/);
    await expect(cli("batches", "list", "--created-after", "yesterday")).rejects.toThrow(/--created-after: expected an ISO 8601 instant/);
    await expect(cli("batches", "frobnicate")).rejects.toThrow(/batches: expected one of list, show, cancel, retry, archive, got 'frobnicate'/);
  });
});

describe("metamers metamers", () => {
  it("lists metamers by filter and stage label", async () => {
    const all = await json("metamers", "list", "--model", lenetId);
    // 4 (relu1, fc1_relu x 2 stimuli) + 1 (pool1, retried) + 2 (relu2) from the batches above.
    expect(all.totalCount).toBe(7);
    const relu1 = await json("metamers", "list", "--model", lenetId, "--stage", "relu1");
    expect(relu1.totalCount).toBe(2);
    for (const m of relu1.metamers) expect(m).toMatchObject({ stage: LENET_STAGES.relu1, stageLabel: "relu1", model: { id: lenetId, name: "lenet" } });
    const oneStimulus = await json("metamers", "list", "--model", lenetId, "--stage", "relu1,fc1_relu", "--set", setId, "--label", "a", "--seed", "0");
    expect(oneStimulus.totalCount).toBe(4);
    const passed = (await json("metamers", "list", "--model", lenetId, "--passed", "true")).totalCount;
    const notPassed = (await json("metamers", "list", "--model", lenetId, "--passed", "false")).totalCount;
    expect(passed + notPassed).toBe(all.totalCount);
    expect((await json("metamers", "list", "--model", lenetId, "--label", "zebra")).totalCount).toBe(0);
    const page = await json("metamers", "list", "--model", lenetId, "--first", "3");
    expect(page.metamers).toHaveLength(3);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await json("metamers", "list", "--model", lenetId, "--first", "3", "--after", page.pageInfo.endCursor);
    expect(next.metamers.map((m: { id: string }) => m.id)).not.toContain(page.metamers[0].id);
    expect(await cli("metamers", "list", "--model", lenetId, "--stage", "relu1")).toMatch(/\/relu1\/Relu_output_0\s+relu1\s+s\d\.png\s+a\s+0\s+(yes|no)/);
    await expect(cli("metamers", "list", "--model", lenetId, "--stage", "layer9")).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/layer9/) });
    await expect(cli("metamers", "list", "--stage", "relu1")).rejects.toThrow(/--stage: expected --model too/);
    await expect(cli("metamers", "list", "--passed", "maybe")).rejects.toThrow(/--passed: expected true or false, got 'maybe'/);
  });

  it("downloads renderings, tensors and certificates with a CSV index", async () => {
    const dir = path.join(tmp, "got");
    const got = await json("metamers", "get", "--model", lenetId, "--stage", "fc1_relu", "--out", dir);
    expect(got.metamers).toHaveLength(2);
    const listed = await json("metamers", "list", "--model", lenetId, "--stage", "fc1_relu");
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(
      ["index.csv", ...listed.metamers.flatMap((m: { id: string }) => [`${m.id}.certificate.json`, `${m.id}.f32`, `${m.id}.png`])].sort(),
    );
    const index = (await readFile(path.join(dir, "index.csv"), "utf8")).trim().split("\n");
    expect(index[0]).toBe("id,model,stage,stageLabel,stimulus,label,seed,passed,rendering,tensor,certificate");
    expect(index).toHaveLength(3);
    for (const m of listed.metamers) {
      expect(index).toContain(`${m.id},lenet,${LENET_STAGES.fc1_relu},fc1_relu,${m.stimulus.filename},a,0,${m.passed},${m.id}.png,${m.id}.f32,${m.id}.certificate.json`);
      const png = await readFile(path.join(dir, `${m.id}.png`));
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      const tensor = await readFile(path.join(dir, `${m.id}.f32`));
      expect(tensor.byteLength).toBe(28 * 28 * 4);
      // The tensor is the one the API describes: its sha256 is the metamer's.
      expect((await import("node:crypto")).createHash("sha256").update(tensor).digest("hex")).toBe(m.sha256);
      const certificate = JSON.parse(await readFile(path.join(dir, `${m.id}.certificate.json`), "utf8"));
      expect(certificate).toMatchObject({ metamerId: m.id, passed: m.passed, naturalLabel: expect.any(String) });
      expect(certificate.metrics.length).toBeGreaterThan(0);
    }

    const one = listed.metamers[0].id;
    const only = path.join(tmp, "only");
    expect(await cli("metamers", "get", one, "--out", only, "--files", "tensor")).toBe(`wrote 1 metamer(s) to ${only} (index: ${path.join(only, "index.csv")})\n`);
    expect((await readdir(only)).sort()).toEqual([`${one}.f32`, "index.csv"]);
    await expect(cli("metamers", "get", "--model", lenetId, "--out", path.join(tmp, "max"), "--max", "1")).rejects.toThrow(/more than --max 1; narrow them or raise --max/);
    await expect(cli("metamers", "get", "--out", path.join(tmp, "none"))).rejects.toThrow(/expected metamer ids or at least one filter flag/);
    await expect(cli("metamers", "get", one)).rejects.toThrow(/expected --out <dir>/);
    await expect(cli("metamers", "get", "00000000-0000-4000-8000-000000000000", "--out", only)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(cli("metamers", "get", one, "--out", only, "--files", "pictures")).rejects.toThrow(/--files: expected some of rendering, tensor, certificate, got 'pictures'/);
  }, 300_000);
});
