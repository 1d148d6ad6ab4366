import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import { NoDispatcher } from "../../src/services/ports.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

// Issue 12 item 5: a model's label map applies to the label check of its certificates (the natural stimulus and the
// saved metamer are compared in the map's categories, force_16_choice), as the authors score 1000-way models 16-way.
describe("the certificate's label check in a label map's categories", () => {
  let t: TestApp;
  let ctx: RequestContext;
  let worker: ReturnType<typeof inProcessWorker>;
  let service: SynthesisService;
  let lenetId: string;
  let stimulusIds: string[];

  beforeAll(async () => {
    t = await startTestApp();
    const { groupId } = await t.createGroupWithKey("label-check-lab");
    ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
    lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
    const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2);
    stimulusIds = (await addImageSet(t.services, ctx, lenetId, pngs)).stimuli.map((s) => s.id);
    service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { checkpointEvery: 5, nullPairs: 12, maxTotalSteps: 1000 });
    worker = inProcessWorker(t);
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  async function certificates(seed: number) {
    const view = await service.synthesize(ctx, {
      modelId: lenetId, stages: [LENET_STAGES.final], stimulusIds, config: { rounds: 1, stepsPerRound: 10, historyEvery: 10 }, seed,
    });
    await worker.drain();
    const out = [];
    for (const j of view.jobs) {
      const job = (await service.job(ctx, j.id))!;
      const metamer = (await service.metamer(ctx, job.metamerId!))!;
      out.push({ stimulusId: j.stimulusId, certificate: metamer.certificate as { naturalLabel: string; metamerLabel: string; passedLabel: boolean } });
    }
    return out;
  }

  it("compares categories once the model has a map, and classes without one", async () => {
    const plain = await certificates(1);
    for (const { certificate } of plain) expect(certificate.naturalLabel).toMatch(/^class\d$/);

    const low = Array.from({ length: 5 }, (_, i) => `class${i}`);
    const high = Array.from({ length: 5 }, (_, i) => `class${i + 5}`);
    const map = await t.services.labelMaps.create(ctx, "low-high", JSON.stringify({ categories: { low, high } }));
    await t.services.labelMaps.setModelLabelMap(ctx, lenetId, map.id);
    const mapped = await certificates(2);
    for (const { stimulusId, certificate } of mapped) {
      // The natural stimulus's decision does not depend on the seed: its class, now as its category.
      const before = plain.find((p) => p.stimulusId === stimulusId)!.certificate.naturalLabel;
      expect(certificate.naturalLabel).toBe(low.includes(before) ? "low" : "high");
      expect(["low", "high"]).toContain(certificate.metamerLabel);
      expect(certificate.passedLabel).toBe(certificate.naturalLabel === certificate.metamerLabel);
    }
  }, 300_000);
});
