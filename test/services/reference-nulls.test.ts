import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { NoDispatcher } from "../../src/services/ports.js";
import { ReferenceNullService } from "../../src/services/reference-nulls.js";
import { SynthesisService } from "../../src/services/synthesis.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

// Issue 12 item 1: model-level reference nulls from a designated reference set, with augmentation, computed once by a
// job and reused; certificates record the null's source and say `underpowered` for < 10,000 pairs or a null drawn
// from the synthesis set itself.
let t: TestApp;
let ctx: RequestContext;
let nulls: ReferenceNullService;
let synthesis: SynthesisService;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let referenceSetId: string;
let referenceIds: string[];
let synthesisIds: string[];
const augmentation = { cropMinScale: 0.8, flip: true, jitter: 0.1 };

beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("reference-lab");
  ctx = { groupId, role: "ADMIN", apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const natural = fixtureFloat32("lenet.x_nat.f32");
  const reference = await addImageSet(t.services, ctx, lenetId, await imageVariants(natural, [1, 1, 28, 28], 12), "train");
  referenceSetId = reference.set.id;
  referenceIds = reference.stimuli.map((s) => s.id);
  synthesisIds = (await addImageSet(t.services, ctx, lenetId, (await imageVariants(natural, [1, 1, 28, 28], 8)).slice(5), "test")).stimuli.map((s) => s.id);
  nulls = new ReferenceNullService(t.store, t.services.models, async () => {});
  synthesis = new SynthesisService(t.store, t.services.models, new NoDispatcher(), { maxTotalSteps: 100 });
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

describe("reference nulls (service + job, real lenet, real PostgreSQL)", () => {
  it("computes an augmented reference null per stage once, streamed, and reuses it", async () => {
    const created = await nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, stages: ["relu1", "final"], augmentation, n: 2_000, seed: 1 });
    expect(created.map((r) => [r.stage, r.status, r.n, r.seed])).toEqual([
      [LENET_STAGES.relu1, "PENDING", 2_000, 1],
      [LENET_STAGES.final, "PENDING", 2_000, 1],
    ].sort((a, b) => created.findIndex((r) => r.stage === a[0]) - created.findIndex((r) => r.stage === b[0])));
    expect(new Set(created.map((r) => r.jobId)).size).toBe(1);
    expect(await worker.drain()).toEqual(["NULL_DISTRIBUTION:succeeded"]);
    const ready = await Promise.all(created.map((r) => nulls.get(ctx, r.id)));
    for (const r of ready) {
      expect(r).toMatchObject({ status: "READY", measured: 2_000, underpowered: true, augmentation: { ...augmentation, noiseSnrDb: null } });
      expect(r!.maximaValues!.spearman).toBeGreaterThan(0);
      expect(r!.maximaValues!.spearman).toBeLessThanOrEqual(1);
      expect(r!.elapsedMs).toBeGreaterThanOrEqual(0);
    }
    // The same spec again: the same rows, no new job.
    const again = await nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, stages: ["relu1"], augmentation, n: 2_000, seed: 1 });
    expect(again.map((r) => r.id)).toEqual([created.find((r) => r.stage === LENET_STAGES.relu1)!.id]);
    expect(await worker.drain()).toEqual([]);
    // Another seed is another null, with other maxima.
    const other = await nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, stages: ["relu1"], augmentation, n: 2_000, seed: 2 });
    await worker.drain();
    expect((await nulls.get(ctx, other[0].id))!.maximaValues!.pearson).not.toBe(ready.find((r) => r!.stage === LENET_STAGES.relu1)!.maximaValues!.pearson);
    expect((await nulls.list(ctx, { modelId: lenetId })).length).toBe(3);
  });

  it("judges metamers against it: the certificate records the source; underpowered below 10,000 pairs or from the synthesis set", async () => {
    const powered = await nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, stages: ["fc1_relu"], augmentation, n: 10_000, seed: 0 });
    const run = async (stimulusIds: string[], nullSource: object | null) => {
      const view = await synthesis.synthesize(ctx, {
        modelId: lenetId, stages: ["fc1_relu"], stimulusIds, config: { rounds: 1, stepsPerRound: 3 }, seed: 4, nullSource,
      });
      await worker.drain();
      const job = (await synthesis.job(ctx, (await synthesis.batch(ctx, view.batch.id))!.jobs[0].id))!;
      const metamer = (await synthesis.metamer(ctx, job.metamerId!))!;
      return { batch: view.batch, certificate: metamer.certificate as any };
    };
    const good = await run(synthesisIds.slice(0, 1), { referenceNullId: powered[0].id });
    expect(good.certificate.null.source).toEqual({
      kind: "REFERENCE", referenceNullId: powered[0].id, setId: referenceSetId, augmentation: { ...augmentation, noiseSnrDb: null }, n: 10_000, seed: 0,
    });
    expect(good.certificate.null.n).toBe(10_000);
    expect(good.certificate.underpowered).toBe(false);
    expect(good.batch.config.nullSource).toMatchObject({ kind: "REFERENCE", setId: referenceSetId, n: 10_000, seed: 0 });
    // Drawn from the synthesis set itself: underpowered whatever its size.
    const own = await run(referenceIds.slice(0, 1), { referenceNullId: powered[0].id });
    expect(own.certificate.underpowered).toBe(true);
    // A spec instead of an id, fewer pairs: a new null (its job runs first), underpowered.
    const small = await run(synthesisIds.slice(1, 2), { setId: referenceSetId, n: 500, seed: 0 });
    expect(small.certificate.null.source).toMatchObject({ kind: "REFERENCE", augmentation: null, n: 500 });
    expect(small.certificate.null.n).toBe(132); // without augmentation: at most every ordered pair of 12 stimuli
    expect(small.certificate.underpowered).toBe(true);
    // Without a null source: the per-set null, drawn from the synthesis set, underpowered.
    const legacy = await run(synthesisIds.slice(2, 3), null);
    expect(legacy.certificate.null.source).toMatchObject({ kind: "SYNTHESIS_SET" });
    expect(legacy.certificate.underpowered).toBe(true);
    // Configurations that differ only in the null source are different configurations.
    expect(new Set([good.batch.configHash, small.batch.configHash, legacy.batch.configHash]).size).toBe(3);
  });

  it("counts per stage the certificates that passed, were uninformative at the ceiling, and were underpowered", async () => {
    // Variants of one digit rank their 10 logits alike: the reference null's rho maximum reaches 1 at `final`.
    const view = await synthesis.synthesize(ctx, {
      modelId: lenetId, stages: ["final", "fc1_relu"], stimulusIds: synthesisIds, config: { rounds: 1, stepsPerRound: 3 }, seed: 9,
      nullSource: { setId: referenceSetId, n: 500, seed: 0 },
    });
    await worker.drain();
    const jobs = (await synthesis.batch(ctx, view.batch.id))!.jobs;
    const certs = await Promise.all(jobs.map(async (j) => (await synthesis.metamer(ctx, (await synthesis.job(ctx, j.id))!.metamerId!))!));
    const summary = await synthesis.certificateSummary(ctx, { modelId: lenetId, batchId: view.batch.id });
    expect(summary.map((r) => r.stageLabel)).toEqual(["fc1_relu", "final"]); // network order
    for (const row of summary) {
      const mine = certs.filter((c) => c.stage === row.stage);
      const uninformative = mine.filter((c) => (c.certificate as any).uninformative.length > 0);
      expect(row).toMatchObject({
        metamers: 3,
        passed: mine.filter((c) => c.passed).length,
        uninformative: uninformative.length,
        passedUninformative: uninformative.filter((c) => c.passed).length,
        underpowered: 3,
      });
    }
    const final = summary.find((r) => r.stageLabel === "final")!;
    expect(final.uninformative).toBe(3);
    expect(summary.find((r) => r.stageLabel === "fc1_relu")!.uninformative).toBe(0);
    // Over every batch of the model: the earlier test's four fc1_relu metamers are counted too.
    const all = await synthesis.certificateSummary(ctx, { modelId: lenetId });
    expect(all.find((r) => r.stageLabel === "fc1_relu")!.metamers).toBe(7);
    expect((await refusal(synthesis.certificateSummary(ctx, { modelId: lenetId, batchId: "00000000-0000-4000-8000-000000000000" }))).code).toBe("NOT_FOUND");
  });

  it("refuses bad sources with a code and a message naming what was expected", async () => {
    expect((await refusal(nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, n: 2_000_000 }))).message).toMatch(
      /input.n: expected an integer from 1 to 1000000 \(pairs of a reference null distribution\), got 2000000/,
    );
    const audio = await refusal(nulls.create(ctx, { modelId: lenetId, setId: referenceSetId, augmentation: { noiseSnrDb: { min: 10, max: 20 } } }));
    expect(audio.code).toBe("BAD_USER_INPUT");
    expect(audio.message).toMatch(/noiseSnrDb: an audio augmentation, but the model takes IMAGE/);
    const both = await refusal(synthesis.synthesize(ctx, { modelId: lenetId, stages: ["relu1"], stimulusIds: synthesisIds.slice(0, 1), config: { rounds: 1, stepsPerRound: 3 }, nullSource: { referenceNullId: "00000000-0000-4000-8000-000000000000", setId: referenceSetId } }));
    expect(both.message).toMatch(/nullSource: give referenceNullId or \(setId, augmentation, n, seed\), not both/);
    const missing = await refusal(synthesis.synthesize(ctx, { modelId: lenetId, stages: ["relu1"], stimulusIds: synthesisIds.slice(0, 1), config: { rounds: 1, stepsPerRound: 3 }, nullSource: { setId: "00000000-0000-4000-8000-000000000000" } }));
    expect(missing.code).toBe("NOT_FOUND");
    const neither = await refusal(nulls.create(ctx, { modelId: lenetId }));
    expect(neither.message).toMatch(/expected referenceNullId or setId/);
  });
});
