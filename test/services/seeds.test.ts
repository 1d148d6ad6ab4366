import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { NoDispatcher } from "../../src/services/ports.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

// Issue 12 item 7: several metamers per target, one per (stimulus, stage, seed); each (stimulus, seed) noise draw is
// shared by the stages; metamers grouped by target with their spread across seeds.
let t: TestApp;
let ctx: RequestContext;
let service: SynthesisService;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let stimulusIds: string[];
const config = { rounds: 1, stepsPerRound: 4 };

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("seeds-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  stimulusIds = (await addImageSet(t.services, ctx, lenetId, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 4))).stimuli.map((s) => s.id);
  service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { nullPairs: 12, maxTotalSteps: 100 });
  worker = inProcessWorker(t);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe("several metamers per target (seeds)", () => {
  it("makes one metamer per (stimulus, stage, seed) and groups them by target with their spread", async () => {
    const seeds = [0, 5, 9];
    const view = await service.synthesize(ctx, { modelId: lenetId, stages: ["relu1", "final"], stimulusIds: stimulusIds.slice(0, 2), config, seeds });
    expect(view.jobs).toHaveLength(12);
    expect(view.batch.seed).toBe(0);
    expect(view.batch.config.seeds).toEqual(seeds);
    await worker.drain();
    const targets = await service.metamerTargets(ctx, { batchId: view.batch.id });
    expect(targets).toHaveLength(4);
    for (const target of targets) {
      expect(target.metamers.map((m) => m.seed)).toEqual(seeds);
      expect(new Set(target.metamers.map((m) => m.id)).size).toBe(3);
      expect(target.pixelDistance).toBeGreaterThan(0);
      expect(target.spearman.n).toBe(3);
      expect(target.spearman.std).toBeGreaterThanOrEqual(0);
      expect(target.snr.mean).not.toBeNull();
      // No other model in the group recognizes them yet.
      expect(target.recognizability).toEqual({ mean: null, std: null, n: 0 });
    }
    expect(new Set(targets.map((x) => `${x.stimulusId}|${x.stageLabel}`)).size).toBe(4);
    expect((await service.metamerTargets(ctx, { batchId: view.batch.id, first: 1 }))).toHaveLength(1);

    // A one-seed batch of seed 5 makes the very same metamer as seed 5 above: the noise draw is keyed by (stimulus,
    // seed), not by the batch or the other seeds; and that batch is another configuration.
    const single = await service.synthesize(ctx, { modelId: lenetId, stages: ["relu1"], stimulusIds: stimulusIds.slice(0, 1), config, seed: 5 });
    await worker.drain();
    const [one] = await service.metamerTargets(ctx, { batchId: single.batch.id });
    const same = targets.find((x) => x.stimulusId === stimulusIds[0] && x.stageLabel === "relu1")!.metamers.find((m) => m.seed === 5)!;
    const [a, b] = await Promise.all([service.metamer(ctx, one.metamers[0].id), service.metamer(ctx, same.id)]);
    expect(a!.sha256).toBe(b!.sha256);
    expect(single.batch.configHash).not.toBe(view.batch.configHash);
  });

  it("refuses bad seed lists, naming what was expected", async () => {
    const ask = (extra: object) => service.synthesize(ctx, { modelId: lenetId, stages: ["relu1"], stimulusIds: stimulusIds.slice(0, 1), config, ...extra });
    expect((await refusal(ask({ seeds: [] }))).message).toMatch(/seeds: expected 1 to 32 seeds, got 0/);
    expect((await refusal(ask({ seeds: [1, 1] }))).message).toMatch(/seeds: expected distinct seeds, got \[1, 1\]/);
    expect((await refusal(ask({ seeds: [1, -2] }))).message).toMatch(/seeds\[1\]: expected an integer in \[0, 2147483647\], got -2/);
    expect((await refusal(ask({ seed: 3, seeds: [1, 3] }))).message).toMatch(/seed: with seeds, leave seed out or give seeds\[0\] \(1\), got 3/);
  });
});
