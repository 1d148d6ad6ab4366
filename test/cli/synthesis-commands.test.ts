import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { progressBar } from "../../src/cli/progress.js";
import { createJobHandlers } from "../../src/worker.js";
import { JobQueue, JobWorker } from "../../src/services/jobs/queue.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let modelId: string;
let setId: string;
let worker: JobWorker;
let closeHandlers: () => Promise<void>;

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("cli-synthesis", "MEMBER");
  key = issued.key;
  const ctx = { groupId: issued.groupId, role: "MEMBER" as const, apiKeyId: "test" };
  modelId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  setId = (await addImageSet(t.services, ctx, modelId, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2))).set.id;
  const handlers = createJobHandlers({ store: t.store, config: t.app.config, log: pino({ level: "silent" }) });
  closeHandlers = handlers.close;
  worker = new JobWorker(new JobQueue(t.store, handlers.registry, pino({ level: "silent" })), { pollMs: 100 });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await closeHandlers?.();
  await t?.close();
});

describe("metamers synthesize", () => {
  it("queues a batch for a whole set, shows progress with --wait and prints where the metamers are", async () => {
    let text = "";
    const env = { url: t.url, apiKey: key, dataDir: mkdtempSync(path.join(os.tmpdir(), "cli-")) };
    await runCli(["synthesize", "--model", modelId, "--stages", "relu1,pool1", "--set", setId, "--rounds", "1", "--steps", "5", "--wait"], { write: (s: string) => (text += s) }, env);
    const lines = text.trim().split("\n");
    // stdout: the batch id first, then the results (the bar goes to stderr: test/progress/cli-wait.test.ts).
    expect(lines[0]).toMatch(/^batch [0-9a-f-]{36}: 4 jobs, \d done; waiting for them$/);
    const results = lines.filter((l) => l.includes("metamer "));
    expect(results).toHaveLength(4);
    for (const l of results) expect(l).toMatch(/rendering http:\/\/127\.0\.0\.1:\d+\/blobs\/[0-9a-f]{64}, tensor http/);
  });

  it("explains missing arguments", async () => {
    const env = { url: t.url, apiKey: key, dataDir: mkdtempSync(path.join(os.tmpdir(), "cli-")) };
    await expect(runCli(["synthesize", "--model", modelId], { write: () => 0 }, env)).rejects.toThrow(/--model, --stages and --set or --stimuli are required/);
  });

  it("draws a bar of the finished fraction, clamped to [0, 1]", () => {
    expect(progressBar(0, 8)).toBe("[--------]");
    expect(progressBar(1 / 4, 8)).toBe("[##------]");
    expect(progressBar(1, 8)).toBe("[########]");
    // More done than the total (the old --wait's "Invalid count value: -10") draws a full bar, not a crash.
    expect(progressBar(7 / 2, 8)).toBe("[########]");
    expect(progressBar(-1, 8)).toBe("[--------]");
  });
});
