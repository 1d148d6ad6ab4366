import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoDispatcher } from "../../src/services/ports.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, autodiffFixtures, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES } from "../helpers/synthesis-fixtures.js";

// The two triggers of recognition, through the real services: registering a model schedules its backlog, and a
// finished (validated) metamer is classified by every compatible model of the group.
const LABELS = ["a", ...Array.from({ length: 9 }, (_, i) => `class${i + 1}`)];

describe("recognition triggers", () => {
  let t: TestApp;
  let ctx: RequestContext;
  let worker: ReturnType<typeof inProcessWorker>;
  const register = (name: string) =>
    t.services.models.register(ctx, {
      name, modality: "IMAGE", classLabels: LABELS, stageLabels: LENET_STAGES,
      data: readFileSync(path.join(autodiffFixtures, "lenet.onnx")).toString("base64"),
    });

  beforeAll(async () => {
    t = await startTestApp();
    const { groupId } = await t.createGroupWithKey("recognition-hooks");
    ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
    worker = inProcessWorker(t);
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  const drain = () => worker.drain();

  it("classifies the group's natural stimuli with a newly registered model, and new metamers with every model", async () => {
    const generator = (await register("lenet")).model;
    const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 5);
    const { stimuli } = await addImageSet(t.services, ctx, generator.id, pngs);

    // Registered after the stimuli exist: its backlog is the 5 natural stimuli (label 'a' is in its label space).
    const late = (await register("lenet-late")).model;
    expect(await drain()).toEqual(["RECOGNITION:succeeded"]);
    expect(await t.store.recognition.countFor(late.id)).toEqual({ metamers: 0, stimuli: 5 });
    expect(await t.store.recognition.countFor(generator.id)).toEqual({ metamers: 0, stimuli: 0 });

    const service = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { nullPairs: 10, maxTotalSteps: 10_000 });
    // fc1_relu, not the logits: with 10 logits the null's Spearman maximum is one swapped pair (0.988) and a metamer
    // passes only if all 10 rank exactly as the natural's, a verdict that flipped with the starting noise. At fc1_relu
    // (120 units) every metric clears the null by a wide margin, so the verdict does not hang on one near-tie.
    const view = await service.synthesize(ctx, {
      modelId: generator.id,
      stages: [LENET_STAGES.fc1_relu],
      stimulusIds: stimuli.slice(0, 2).map((s) => s.id),
      config: { rounds: 3, stepsPerRound: 150 },
      seed: 1,
    });
    const ran = await drain();
    expect(ran.filter((r) => r === "SYNTHESIS:succeeded")).toHaveLength(2);
    const metamerIds = [...(await t.store.metamers.idsByJobs(view.jobs.map((j) => j.id))).values()];
    const metamers = await Promise.all(metamerIds.map((id) => t.store.metamers.find(ctx.groupId, id)));
    const passed = metamers.filter((m) => m!.passed).length;
    const passedStimuli = new Set(metamers.filter((m) => m!.passed).map((m) => m!.stimulusId)).size;
    // Matching lenet's fc1_relu for 450 steps validates both. Deterministic: the starting noise comes from the seed
    // and the stimulus's bytes (it used to hash the stimulus's random row id, so every run started elsewhere).
    expect(passed).toBe(2);

    // One RECOGNITION job per compatible model (the generator and the late model): syntheses run before recognition,
    // so later metamers found each recognizer's job still queued and left their work to it.
    expect(ran.filter((r) => r.startsWith("RECOGNITION"))).toEqual(Array(2).fill("RECOGNITION:succeeded"));
    // The generator's first recognition job also caught up its backlog: every natural stimulus of the group (the late
    // model had classified them at registration), which gives the natural point of its curves.
    expect(passedStimuli).toBe(2);
    expect(await t.store.recognition.countFor(generator.id)).toEqual({ metamers: passed, stimuli: 5 });
    expect(await t.store.recognition.countFor(late.id)).toEqual({ metamers: passed, stimuli: 5 });
    const cells = await t.services.metrics.crossModelMatrix(ctx, { generatorIds: [generator.id], recognizerIds: [generator.id, late.id], stage: LENET_STAGES.fc1_relu });
    expect(cells.map((c) => c.n)).toEqual([passed, passed]);
    // Same network, same weights: both recognizers agree on every metamer.
    expect(cells[0].accuracy).toBe(cells[1].accuracy);
  });
});
