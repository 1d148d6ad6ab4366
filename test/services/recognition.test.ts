import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { SeededRandom } from "../../src/engine/random.js";
import { createLogger } from "../../src/logger.js";
import { linearClassifier, referenceLogits } from "../recognition/fixture.js";
import { EngineSessionCache } from "../../src/engine/index.js";
import { renderImage } from "../../src/engine/media/index.js";
import { JobHandlerRegistry, JobQueue } from "../../src/services/jobs/queue.js";
import { MetricsService } from "../../src/services/metrics/recognizability-service.js";
import { RecognitionJobHandler } from "../../src/services/jobs/handlers/recognition.js";
import { enqueueRecognitionForMetamers, enqueueRecognitionForModel, RecognitionService } from "../../src/services/recognition.js";
import { StimulusService } from "../../src/services/stimuli.js";
import { UploadService } from "../../src/services/uploads.js";
import type { ModelRecord } from "../../src/store/models.js";
import type { Store } from "../../src/store/store.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const SHAPE = [1, 3, 8, 8];
const D = 3 * 8 * 8;
const LABELS = ["cat", "dog", "car", "cup"];

/** The same classifier in plain JavaScript: the reference the ONNX runtime results are checked against. */
function referenceLabel(w: Float32Array, b: Float32Array, x: Float32Array): string {
  const logits = referenceLogits({ bytes: new Uint8Array(), w, b, classes: LABELS.length }, x);
  return LABELS[logits.indexOf(Math.max(...logits))];
}

const bytesOf = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

async function registerModel(store: Store, groupId: string, name: string, bytes: Uint8Array): Promise<ModelRecord> {
  const blob = await store.blobs.put(bytes, "application/onnx");
  return store.transaction((tx) =>
    tx.models.create(
      {
        groupId, name, modality: "IMAGE", sha256: blob.sha256, byteSize: bytes.length, opset: 17, inputName: "x",
        inputShape: SHAPE, inputRange: [0, 1], sampleRate: null, outputName: "logits", classLabels: LABELS,
        training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
      },
      [{ name: "logits", label: "final", shape: [1, 4], producerOp: "Gemm", order: 0, differentiable: true, unsupportedOps: [] }],
    ),
  );
}

describe("cross-model recognition jobs", () => {
  let db: TestDatabase;
  const classifiers = [11, 12, 13, 14, 15].map((seed) => linearClassifier(seed, LABELS.length));
  const models: ModelRecord[] = [];
  const tensors = new Map<string, Float32Array>(); // metamer id -> its saved PNG decoded (what recognizers classify)
  const truth = new Map<string, string>(); // metamer id -> natural label
  let stimulusTensors: Float32Array[] = [];
  let groupId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const store = db.store;
    groupId = (await store.groups.createGroup("lab-recognition")).id;
    for (let i = 0; i < classifiers.length; i++) models.push(await registerModel(store, groupId, `linear${i}`, classifiers[i].bytes));

    const rng = new SeededRandom(99);
    const set = await store.stimuli.createSet({ groupId, name: "tiny", modality: "IMAGE", classLabels: LABELS, sampleRate: null });
    stimulusTensors = Array.from({ length: 20 }, () => Float32Array.from({ length: D }, () => rng.next()));
    const stimuli = await store.transaction(async (tx) => {
      const items = [];
      for (let i = 0; i < stimulusTensors.length; i++) {
        const blob = await tx.blobs.put(bytesOf(stimulusTensors[i]), "application/x-float32");
        items.push({
          label: LABELS[i % 4], filename: `s${i}.f32`, contentType: "application/x-float32", sha256: blob.sha256,
          tensors: [{ shapeKey: SHAPE.join("x"), shape: SHAPE, blobSha256: blob.sha256 }],
        });
      }
      return tx.stimuli.addStimuli(set, items);
    });

    // 1,000 validated metamers (200 per generator), stored as the synthesis worker stores them; 250 distinct seeded
    // tensors (blobs are content-addressed, so metamers i and i + 250 share one) keep the setup quick.
    const jobs = await store.jobs.enqueue(Array.from({ length: 1000 }, () => ({ kind: "SYNTHESIS" as const, groupId })));
    const distinct = Array.from({ length: 250 }, () => Float32Array.from({ length: D }, () => rng.next()));
    // Recognizers classify the saved 8-bit PNG decoded back (issue 12 item 4), so each metamer has a real rendering.
    const renderings = await Promise.all(distinct.map((x) => renderImage(x, SHAPE, [0, 1])));
    await store.transaction(async (tx) => {
      const blobs = [];
      const renderingBlobs = [];
      for (const x of distinct) blobs.push(await tx.blobs.put(bytesOf(x), "application/x-float32"));
      for (const r of renderings) renderingBlobs.push(await tx.blobs.put(r.bytes, r.contentType));
      for (let i = 0; i < 1000; i++) {
        const x = renderings[i % 250].decoded;
        const blob = blobs[i % 250];
        const stimulus = stimuli[i % stimuli.length];
        const m = await tx.metamers.create({
          jobId: jobs[i].id, groupId, modelId: models[i % 5].id, stimulusId: stimulus.id, stage: "logits", seed: 0,
          config: {}, history: [], certificate: {}, passed: true, tensorSha256: blob.sha256, renderingSha256: renderingBlobs[i % 250].sha256,
          sha256: blob.sha256, softwareVersions: {},
        });
        tensors.set(m.id, x);
        truth.set(m.id, stimulus.label);
      }
    }, { timeoutMs: 120_000 });
  });
  afterAll(async () => {
    await db?.drop();
  });

  function worker(store: Store, name: string) {
    const uploads = new UploadService(store, DEFAULT_LIMITS, 3600, () => "");
    const handler = new RecognitionJobHandler({ stimuli: new StimulusService(store, DEFAULT_LIMITS, uploads), sessions: new EngineSessionCache() });
    return new JobQueue(store, new JobHandlerRegistry().register("RECOGNITION", handler), createLogger("silent"), { owner: name, leaseMs: 30_000 });
  }

  async function drain(queue: JobQueue): Promise<number> {
    let ran = 0;
    while (await queue.runOne()) ran++;
    return ran;
  }

  it("evaluates 1,000 metamers by 5 models in background jobs, each pair exactly once with two racing workers", async () => {
    const store = db.store;
    const ids = [...tensors.keys()];
    // Schedule the same work twice, as the finished-metamer trigger and each model's backlog, so the two workers
    // race on overlapping jobs.
    const first = await enqueueRecognitionForMetamers(store, ids);
    expect(first).toHaveLength(5 * 4); // 5 recognizers x ceil(1000 / 250) chunks
    // While a recognizer has a queued job, a new finished-metamer trigger adds none (that job absorbs the backlog).
    expect(await enqueueRecognitionForMetamers(store, ids.slice(0, 10))).toHaveLength(0);
    const second = (await Promise.all(models.map((m) => enqueueRecognitionForModel(store, m.id)))).flat();
    expect(second).toHaveLength(5 * (4 + 1)); // per model: 4 metamer chunks + 1 chunk of the 20 natural stimuli

    const started = performance.now();
    const [a, b] = await Promise.all([drain(worker(store, "worker-a")), drain(worker(store, "worker-b"))]);
    const elapsed = performance.now() - started;
    console.log(`recognition: 5,000 pairs in ${Math.round(elapsed)} ms (worker a ran ${a} jobs, worker b ${b})`);
    expect(a + b).toBe(45);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);

    // Each recognizer also classified the 20 natural stimuli the metamers came from (the curves' natural point).
    for (const m of models) expect(await store.recognition.countFor(m.id)).toEqual({ metamers: 1000, stimuli: 20 });
    const counts = await store.jobs.countByStatus(["RECOGNITION"]);
    expect(counts.SUCCEEDED).toBe(45);
    // Nothing left to do: a new trigger schedules no job.
    expect(await enqueueRecognitionForMetamers(store, ids)).toHaveLength(0);
    // 5,000 PNG decodes and inferences: 22 s under a load average of 20, over 60 s when a demo run took the CPUs.
  }, 240_000);

  it("stores the labels onnxruntime predicts, equal to a plain-JavaScript evaluation of the same classifiers", async () => {
    const rows = await db.store.metricsExport.trials(models[0].id);
    expect(rows).toHaveLength(200 * 5);
    for (const row of rows) {
      const recognizer = models.findIndex((m) => m.id === row.recognizerId);
      const expected = referenceLabel(classifiers[recognizer].w, classifiers[recognizer].b, tensors.get(row.metamer)!);
      expect(row.predictedLabel).toBe(expected);
      expect(row.correct).toBe(expected === truth.get(row.metamer));
    }
  });

  it("feeds crossModelMatrix and recognizability from the computed rows", async () => {
    const caller = { groupId, role: "READER" as const, apiKeyId: "test" };
    const metrics = new MetricsService(db.store);
    const ids = models.map((m) => m.id);
    const cells = await metrics.crossModelMatrix(caller, { generatorIds: ids, recognizerIds: ids, stage: "FINAL" });
    expect(cells).toHaveLength(25);
    for (const cell of cells) {
      expect(cell.n).toBe(200);
      const g = models.findIndex((m) => m.id === cell.generatorId);
      const r = models.findIndex((m) => m.id === cell.recognizerId);
      let correct = 0;
      for (const [id, x] of tensors) {
        if (models[[...tensors.keys()].indexOf(id) % 5].id !== models[g].id) continue;
        if (referenceLabel(classifiers[r].w, classifiers[r].b, x) === truth.get(id)) correct++;
      }
      expect(cell.accuracy).toBeCloseTo(correct / 200, 12);
    }
    const other = await metrics.recognizability(caller, { modelId: ids[0], stage: "logits", observer: "OTHER_MODELS", resamples: 100 });
    expect(other.n).toBe(4);
    const expectedMean = cells.filter((c) => c.generatorId === ids[0] && c.recognizerId !== ids[0]).reduce((s, c) => s + c.accuracy, 0) / 4;
    expect(other.mean).toBeCloseTo(expectedMean, 12);
  });

  it("gives a newly registered model its backlog of metamers and natural stimuli", async () => {
    const store = db.store;
    // A reference set (training-like stimuli for null distributions) is not scored: no result reads those recognitions.
    const reference = await store.stimuli.createSet({ groupId, name: "reference", modality: "IMAGE", classLabels: LABELS, sampleRate: null });
    await store.transaction(async (tx) => {
      const items = [];
      for (let i = 0; i < 30; i++) {
        const blob = await tx.blobs.put(bytesOf(Float32Array.from({ length: D }, (_, k) => ((i * 31 + k) % 97) / 97)), "application/x-float32");
        items.push({
          label: LABELS[i % 4], filename: `r${i}.f32`, contentType: "application/x-float32", sha256: blob.sha256,
          tensors: [{ shapeKey: SHAPE.join("x"), shape: SHAPE, blobSha256: blob.sha256 }],
        });
      }
      await tx.stimuli.addStimuli(reference, items);
      await tx.nulls.createMissing(groupId, { modelId: models[0].id, setId: reference.id, augmentationKey: "none", n: 100, seed: 0 }, null, ["logits"], null);
    });
    const late = linearClassifier(16, LABELS.length);
    const model = await registerModel(store, groupId, "linear-late", late.bytes);
    const member = { groupId, role: "MEMBER" as const, apiKeyId: "test" };
    const jobIds = await new RecognitionService(store).recognizeBacklog(member, model.id);
    const jobs = await Promise.all(jobIds.map((id) => store.jobs.find(id)));
    expect(jobs.map((j) => (j!.payload.metamerIds as string[] | undefined)?.length ?? (j!.payload.stimulusIds as string[]).length)).toEqual([250, 250, 250, 250, 20]);
    await expect(new RecognitionService(store).recognizeBacklog({ ...member, role: "READER" }, model.id)).rejects.toThrow(/needs the MEMBER role/);
    await drain(worker(store, "worker-c"));
    expect(await store.recognition.countFor(model.id)).toEqual({ metamers: 1000, stimuli: 20 });

    // Its curve on generator 0's metamers starts with the natural stimuli those metamers came from (0, 5, 10, 15).
    const curve = await new MetricsService(store).recognizabilityCurve(member, { modelId: models[0].id, observer: "MODEL", recognizerId: model.id });
    expect(curve.map((p) => [p.stage, p.natural, p.n])).toEqual([["natural", true, 4], ["logits", false, 200]]);
    const naturalCorrect = [0, 5, 10, 15].filter((i) => referenceLabel(late.w, late.b, stimulusTensors[i]) === LABELS[i % 4]).length;
    expect(curve[0].mean).toBeCloseTo(naturalCorrect / 4, 12);
    expect(await enqueueRecognitionForModel(store, model.id)).toHaveLength(0);
  });

  it("keeps the per-cell tallies right when recognitions or metamers are deleted (SQL triggers)", async () => {
    const caller = { groupId, role: "READER" as const, apiKeyId: "test" };
    const metrics = new MetricsService(db.store);
    const ids = models.map((m) => m.id);
    const ofGenerator0 = [...tensors.keys()].filter((_, i) => i % 5 === 0);
    const client = new pg.Client(db.config);
    await client.connect();
    try {
      await client.query(`DELETE FROM "Metamer" WHERE id = ANY($1::uuid[])`, [ofGenerator0.slice(0, 10)]);
      await client.query(`DELETE FROM "Recognition" WHERE "recognizerId" = $1 AND "metamerId" = ANY($2::uuid[])`, [ids[1], ofGenerator0.slice(10, 15)]);
    } finally {
      await client.end();
    }
    const cells = await metrics.crossModelMatrix(caller, { generatorIds: [ids[0]], recognizerIds: ids.slice(0, 5), stage: "logits" });
    for (const cell of cells) {
      const r = ids.indexOf(cell.recognizerId);
      const kept = ofGenerator0.slice(10).filter((_, k) => !(r === 1 && k < 5));
      expect(cell.n).toBe(kept.length);
      const correct = kept.filter((id) => referenceLabel(classifiers[r].w, classifiers[r].b, tensors.get(id)!) === truth.get(id)).length;
      expect(cell.accuracy).toBeCloseTo(correct / kept.length, 12);
    }
    expect(cells.map((c) => c.n).sort()).toEqual([185, 190, 190, 190, 190]);
  });
});
