// The CLI's exit codes (src/cli/exit-codes.ts), each produced by a real case through bin/metamers.js: a lab script
// tells a typo (2) from a server problem (3) from failed jobs (4).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderImage } from "../../src/engine/index.js";
import { ApiError } from "../../src/cli/client.js";
import { exitCodeOf } from "../../src/cli/main.js";
import { JobsFailedError } from "../../src/cli/exit-codes.js";
import { AppError } from "../../src/errors.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, inProcessWorker, logModel } from "../helpers/synthesis-fixtures.js";

const repo = path.resolve(import.meta.dirname, "../..");

let t: TestApp;
let key: string;
let tmp: string;
let failedBatch: string;
let modelId: string;

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("cli-exit-codes", "MEMBER");
  key = issued.key;
  const ctx = { groupId: issued.groupId, role: "MEMBER" as const, apiKeyId: "test" };
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-exit-"));
  // A batch whose job fails for real: log(0) = -Infinity in the set's null distribution.
  const log = await t.services.models.register(ctx, { name: "log", modality: "IMAGE", data: Buffer.from(logModel()).toString("base64") });
  modelId = log.model.id;
  const black = await renderImage(new Float32Array(16).map((_, i) => (i % 3) * 0.004), [1, 1, 4, 4], [0, 1]);
  const grey = await renderImage(new Float32Array(16).fill(0.5), [1, 1, 4, 4], [0, 1]);
  const set = await addImageSet(t.services, ctx, modelId, [black, grey].map((r) => Buffer.from(r.bytes).toString("base64")), "black");
  failedBatch = (await t.services.synthesis.synthesize(ctx, { modelId, stages: ["logx"], stimulusIds: [set.stimuli[1].id], config: { rounds: 1, stepsPerRound: 5 } })).batch.id;
  const worker = inProcessWorker(t);
  expect(await worker.drain()).toEqual(["NULL_DISTRIBUTION:failed", "SYNTHESIS:failed"]);
  await worker.close();
}, 300_000);
afterAll(async () => {
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Runs bin/metamers.js as a lab script would and returns its exit code and output. */
function metamers(url: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repo, "bin/metamers.js"), ...argv], {
      cwd: tmp,
      env: { ...process.env, METAMERS_URL: url, METAMERS_API_KEY: key, METAMERS_DATA_DIR: tmp },
      timeout: 120_000,
    }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }));
  });
}

describe("metamers exit codes", () => {
  it("0 when done, 2 for a bad flag or input the server refuses, 3 when the server is unreachable, 4 for failed jobs", async () => {
    const ok = await metamers(t.url, "batches", "list", "--json");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).batches.map((b: { id: string }) => b.id)).toEqual([failedBatch]);

    const badFlag = await metamers(t.url, "batches", "list", "--bogus");
    expect(badFlag).toMatchObject({ code: 2, stdout: "" });
    expect(badFlag.stderr).toMatch(/^error \[BAD_USER_INPUT\]: Unknown option '--bogus'/);

    const refused = await metamers(t.url, "metamers", "list", "--model", modelId, "--stage", "layer9");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error \[BAD_USER_INPUT\]: .*layer9/);

    const unreachable = await metamers("http://127.0.0.1:9", "batches", "list");
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^error \[UNREACHABLE\]: cannot reach http:\/\/127\.0\.0\.1:9/);

    const failed = await metamers(t.url, "batches", "show", failedBatch, "--wait");
    expect(failed.code).toBe(4);
    expect(failed.stdout).toMatch(/jobs: 0 queued, 0 running, 0 succeeded, 1 failed, 0 cancelled/);
    expect(failed.stderr).toMatch(new RegExp(`^error \\[JOBS_FAILED\\]: batch ${failedBatch}: 1 job\\(s\\) failed, 0 cancelled`));

    const help = await metamers("http://127.0.0.1:9", "batches", "retry", "--help");
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage:\n  metamers batches list/);
  }, 600_000);

  it("maps each kind of error to its code", () => {
    expect(exitCodeOf(new AppError("BAD_USER_INPUT", "x")).exit).toBe(2);
    expect(exitCodeOf(new ApiError("x", "BAD_USER_INPUT")).exit).toBe(2);
    expect(exitCodeOf(Object.assign(new Error("no such file"), { code: "ENOENT" }))).toEqual({ code: "ENOENT", exit: 2 });
    for (const code of ["UNREACHABLE", "BAD_RESPONSE", "INTERNAL", "UNAUTHENTICATED", "NOT_FOUND"]) expect(exitCodeOf(new ApiError("x", code)).exit).toBe(3);
    expect(exitCodeOf(new Error("a bug")).exit).toBe(3);
    expect(exitCodeOf(new JobsFailedError("x", 1, 0))).toEqual({ code: "JOBS_FAILED", exit: 4 });
  });
});
