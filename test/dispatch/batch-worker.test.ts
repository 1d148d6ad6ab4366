// The GPU worker's loop (what functions/gpu-worker runs on AWS Batch), here on CPU: the CUDA provider is requested as
// in the image (METAMERS_EXECUTION_PROVIDERS=cuda,cpu), onnxruntime cannot load it on this machine, so the engine
// falls back to CPU with a logged warning; the worker drains every queued job of a real batch and exits, and each
// metamer records the provider and device that computed it.
import os from "node:os";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { activeExecutionProvider, useExecutionProviders } from "../../src/engine/index.js";
import { runDrainingWorker } from "../../src/worker.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  // The engine's provider choice is process-wide: leave the default for whatever runs next in this process.
  useExecutionProviders(undefined);
  await t?.close();
});

describe("GPU worker loop", () => {
  it("falls back to CPU with a warning when CUDA is requested but unavailable, drains the queue, records the provider, and exits", async () => {
    const { groupId } = await t.createGroupWithKey("gpu-lab");
    const ctx = { groupId, role: "ADMIN" as const, apiKeyId: "test" };
    const model = await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES);
    const { stimuli } = await addImageSet(t.services, ctx, model.model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 3));
    // No dispatcher attached: the jobs wait in the table, as they do for a Batch worker that has not started yet.
    const batch = await t.services.synthesis.synthesize(ctx, {
      modelId: model.model.id,
      stages: ["relu2"],
      stimulusIds: [stimuli[0].id, stimuli[1].id],
      config: { rounds: 1, stepsPerRound: 20 },
      seed: 1,
    });
    expect(batch.jobs.length).toBeGreaterThanOrEqual(2);

    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const config = { ...t.app.config, externalDatabase: t.database, jobs: { ...t.app.config.jobs, executionProviders: ["cuda", "cpu"], drainIdleMs: 300 } };
    const started = Date.now();
    const summary = await runDrainingWorker(config, log);

    // The fallback: logged once, as a warning naming what was asked for and why it failed.
    const fallbacks = lines.filter((l) => l.event === "engine.execution_provider_fallback");
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]).toMatchObject({ level: 40, requested: ["cuda", "cpu"], using: ["cpu"] });
    expect(String(fallbacks[0].reason)).toMatch(/cuda|shared library|provider/i);
    expect(activeExecutionProvider()).toBe("cpu");

    // Drained: the null distribution, every synthesis job, and the recognition jobs their metamers queued.
    const finished = await t.services.synthesis.batch(ctx, batch.batch.id);
    expect(finished!.jobs.map((j) => j.status)).toEqual(batch.jobs.map(() => "SUCCEEDED"));
    expect(summary.results.succeeded).toBeGreaterThanOrEqual(batch.jobs.length + 1);
    expect(summary.ran).toBe(summary.results.succeeded);
    expect(lines.some((l) => l.event === "drain.finished")).toBe(true);
    // It exits once nothing is claimable for drainIdleMs, not after a fixed time.
    expect(Date.now() - started).toBeLessThan(60_000);

    for (const job of finished!.jobs) {
      const metamer = await t.store.metamers.findByJob(job.id);
      expect(metamer!.softwareVersions).toMatchObject({ executionProvider: "cpu", device: expect.stringContaining(os.cpus()[0].model.trim()) });
    }
  }, 120_000);

  it("the entry module (functions/gpu-worker/main.ts) refuses to start without a database, naming the variables", async () => {
    vi.stubEnv("METAMERS_DATABASE_SECRET", "");
    vi.stubEnv("DATABASE_URL", "");
    try {
      await expect(import("../../functions/gpu-worker/main.js")).rejects.toThrow(
        "GPU worker: expected METAMERS_DATABASE_SECRET or DATABASE_URL to name the database, got neither",
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
