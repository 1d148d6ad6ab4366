// An experiment's raw material as the synthesis workers leave it: a stimulus set of real PNG (or WAV) files, models
// with stages, one synthesis batch per model with a metamer of every stimulus at every stage (some failing
// validation), and stored recognitions of each generator on its metamers and the natural stimuli. Written through the
// store (no synthesis run), so experiment tests take seconds. Shared by the server and the page tests.
import { renderAudio, renderImage, SeededRandom } from "../../src/engine/index.js";
import type { Store } from "../../src/store/store.js";

export interface ExperimentFixture {
  groupId: string;
  setId: string;
  batchIds: string[];
  models: { id: string; name: string; stages: string[] }[];
  stimuli: { id: string; label: string }[];
  /** metamer id -> { model, stage, stimulus, passed } */
  metamers: Map<string, { modelId: string; stage: string; stimulusId: string; passed: boolean }>;
  /** `${recognizerId}|${metamerId or stimulusId}` -> correct */
  recognitions: Map<string, boolean>;
  labels: string[];
}

export interface FixtureOptions {
  modality?: "IMAGE" | "AUDIO";
  stimuli?: number;
  /** Extra natural stimuli without metamers (practice, demo and catch trials use them). */
  extraStimuli?: number;
  models?: number;
  stages?: string[];
  labels?: string[];
  /** Every k-th metamer fails validation (0: none). */
  failEvery?: number;
  /** Every model also recognizes the other models' metamers (the OTHER_MODELS observer, idiosyncrasy). */
  crossRecognitions?: boolean;
  seed?: number;
}

export async function createExperimentFixture(store: Store, groupId: string, options: FixtureOptions = {}): Promise<ExperimentFixture> {
  const modality = options.modality ?? "IMAGE";
  const labels = options.labels ?? ["cat", "dog", "car", "cup"];
  const stages = options.stages ?? ["conv1", "fc"];
  const rng = new SeededRandom(options.seed ?? 7);
  const file = async (): Promise<{ bytes: Uint8Array; contentType: string }> => {
    if (modality === "AUDIO") {
      const x = Float32Array.from({ length: 800 }, () => rng.next() * 2 - 1);
      return { bytes: renderAudio(x, 8000).bytes, contentType: "audio/wav" };
    }
    const x = Float32Array.from({ length: 3 * 8 * 8 }, () => rng.next());
    return { bytes: (await renderImage(x, [1, 3, 8, 8], [0, 1])).bytes, contentType: "image/png" };
  };

  const set = await store.stimuli.createSet({ groupId, name: `fixture-${rng.nextUint32()}`, modality, classLabels: labels, sampleRate: modality === "AUDIO" ? 8000 : null });
  const count = (options.stimuli ?? 24) + (options.extraStimuli ?? 0);
  const items = [];
  for (let i = 0; i < count; i++) {
    const f = await file();
    const blob = await store.blobs.put(f.bytes, f.contentType);
    items.push({ label: labels[i % labels.length], filename: `s${i}`, contentType: f.contentType, sha256: blob.sha256, tensors: [] });
  }
  const added = await store.stimuli.addStimuli(set, items);
  const sources = added.slice(0, options.stimuli ?? 24);

  const models: ExperimentFixture["models"] = [];
  const batchIds: string[] = [];
  const metamers: ExperimentFixture["metamers"] = new Map();
  const recognitions: ExperimentFixture["recognitions"] = new Map();
  const onnx = await store.blobs.put(Uint8Array.from([rng.nextUint32() & 255, 1, 2, 3]), "application/onnx");
  let k = 0;
  for (let mi = 0; mi < (options.models ?? 2); mi++) {
    const model = await store.models.create(
      {
        groupId, name: `fixture-model-${mi}-${rng.nextUint32()}`, modality, sha256: onnx.sha256, byteSize: 4, opset: 17, inputName: "x",
        inputShape: [1, 3, 8, 8], inputRange: [0, 1], sampleRate: null, outputName: "logits", classLabels: labels,
        training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
      },
      stages.map((name, order) => ({ name, label: null, shape: [1, 4], producerOp: "Relu", order, differentiable: true, unsupportedOps: [] })),
    );
    models.push({ id: model.id, name: model.name, stages });
    const batch = await store.jobs.createBatch({ groupId, modelId: model.id, config: {}, seed: 0, idempotencyKey: null, configHash: "fixture" });
    batchIds.push(batch.id);
    const pairs = stages.flatMap((stage) => sources.map((s) => ({ stage, s })));
    const jobs = await store.jobs.enqueue(pairs.map(({ stage, s }) => ({ kind: "SYNTHESIS" as const, groupId, batchId: batch.id, modelId: model.id, stimulusId: s.id, stage })));
    const rows = [];
    for (let j = 0; j < pairs.length; j++) {
      const { stage, s } = pairs[j];
      const f = await file();
      const blob = await store.blobs.put(f.bytes, f.contentType);
      const passed = !(options.failEvery && ++k % options.failEvery === 0);
      const m = await store.metamers.create({
        jobId: jobs[j].id, groupId, modelId: model.id, stimulusId: s.id, stage, seed: 0, config: {}, history: [], certificate: {},
        passed, tensorSha256: blob.sha256, renderingSha256: blob.sha256, sha256: blob.sha256, softwareVersions: {},
      });
      metamers.set(m.id, { modelId: model.id, stage, stimulusId: s.id, passed });
      const correct = rng.next() < 0.7;
      recognitions.set(`${model.id}|${m.id}`, correct);
      rows.push({ recognizerId: model.id, metamerId: m.id, stimulusId: null, predictedLabel: correct ? s.label : "other", correct });
    }
    for (const s of sources) {
      const correct = rng.next() < 0.9;
      recognitions.set(`${model.id}|${s.id}`, correct);
      rows.push({ recognizerId: model.id, metamerId: null, stimulusId: s.id, predictedLabel: correct ? s.label : "other", correct });
    }
    await store.recognition.insert(rows);
  }
  if (options.crossRecognitions) {
    const rows = [];
    for (const [id, m] of metamers) {
      for (const r of models) {
        if (r.id === m.modelId) continue;
        const correct = rng.next() < 0.4;
        recognitions.set(`${r.id}|${id}`, correct);
        rows.push({ recognizerId: r.id, metamerId: id, stimulusId: null, predictedLabel: correct ? "match" : "other", correct });
      }
    }
    await store.recognition.insert(rows);
  }
  return { groupId, setId: set.id, batchIds, models, stimuli: sources.map((s) => ({ id: s.id, label: s.label })), metamers, recognitions, labels };
}
