// Issue 12 item 8's check, on a fixed subset that fits a test: evaluateRobustness through the real service (GraphQL,
// PostgreSQL, ROBUSTNESS jobs run by the worker's handlers, onnxruntime) on the first 20 test digits of every class
// (models/demo/mnist-split.json) with the manifest's attack, against PyTorch's result on the same 200 digits
// (examples/pytorch/robustness_reference.py, committed as test/fixtures/robustness/demo-subset-pgd.json). The
// random start is the one thing the two cannot share draw for draw; the fixture's tolerance is 4 standard deviations
// of a run's accuracy over random starts (measured per digit over 20 torch seeds) plus one digit. The full 2,000
// digits against the manifest's own figures: manifest-full.test.ts and `npm run check:robustness` (README "Robustness").
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digitPng, pickTestDigits, readSplit } from "../../src/demo/digits.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { REPO_ROOT } from "../helpers/constants.js";
import { inProcessWorker } from "../helpers/synthesis-fixtures.js";

interface SubsetReference {
  attack: { norm: string; epsilon: number; steps: number; stepSize: number; randomStart: boolean };
  digits: { perClass: number; indices: number[]; labels: number[] };
  models: Record<string, { cleanAccuracy: number; robustAccuracy: number; tolerance: number; survivalFraction: number[] }>;
}
const REF: SubsetReference = JSON.parse(readFileSync(path.join(REPO_ROOT, "test/fixtures/robustness/demo-subset-pgd.json"), "utf8"));
const MODELS_DIR = path.join(REPO_ROOT, "models/demo");
const LABELS = Array.from({ length: 10 }, (_, k) => String(k));

let t: TestApp;
let key: string;
let worker: ReturnType<typeof inProcessWorker>;
let setId: string;
const modelIds: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  const created = await t.createGroupWithKey("robust-lab", "MEMBER");
  key = created.key;
  const ctx = { groupId: created.groupId, role: "ADMIN" as const, apiKeyId: "test" };
  for (const name of Object.keys(REF.models)) {
    const data = readFileSync(path.join(MODELS_DIR, `${name}.onnx`)).toString("base64");
    modelIds[name] = (await t.services.models.register(ctx, { name, modality: "IMAGE", data, classLabels: LABELS })).model.id;
  }
  const digits = pickTestDigits(readSplit(MODELS_DIR), REF.digits.perClass);
  expect(digits.map((d) => d.index)).toEqual(REF.digits.indices);
  const set = await t.services.stimuli.createSet(ctx, { name: "mnist-test-subset", modality: "IMAGE", classLabels: LABELS });
  await t.services.stimuli.addStimuli(ctx, {
    setId: set.id,
    modelId: modelIds.resnet,
    items: await Promise.all(digits.map(async (d) => ({ label: d.label, filename: `d${d.index}.png`, data: (await digitPng(d.pixels)).toString("base64") }))),
  });
  setId = set.id;
  worker = inProcessWorker(t);
}, 300_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

const EVALUATION = `id status jobsDone jobsTotal n norm epsilons steps stepSize randomStart seed modelSha256 software error
  results { epsilon accuracy low high n resamples }`;

describe("robust accuracy of the demo ResNets against PyTorch on 200 test digits", () => {
  it.each(Object.keys(REF.models))("%s: the manifest's attack through evaluateRobustness", async (name) => {
    const ref = REF.models[name];
    const made = await t.gql(
      `mutation($i: EvaluateRobustnessInput!) { evaluateRobustness(input: $i) { ${EVALUATION} } }`,
      { i: { modelId: modelIds[name], stimulusSetId: setId, epsilons: [0, REF.attack.epsilon], steps: REF.attack.steps, stepSize: REF.attack.stepSize, seed: 11 } },
      key,
    );
    expect(made.errors).toBeUndefined();
    expect(made.data.evaluateRobustness).toMatchObject({ status: "PENDING", jobsDone: 0, jobsTotal: 2, n: 200, norm: "L2", randomStart: true, results: [] });
    const started = performance.now();
    // progress: after the first of the two chunks, half the jobs are done and no result is out yet
    const first = await worker.queue.runOne();
    expect(first?.result).toBe("succeeded");
    const half = await t.gql(`query($m: ID!) { robustness(modelId: $m, first: 1) { status jobsDone jobsTotal results { accuracy } } }`, { m: modelIds[name] }, key);
    expect(half.data.robustness[0]).toEqual({ status: "RUNNING", jobsDone: 1, jobsTotal: 2, results: [] });
    const ran = await worker.drain();
    const seconds = (performance.now() - started) / 1000;
    expect(ran).toEqual(["ROBUSTNESS:succeeded"]);
    const read = await t.gql(`query($m: ID!) { robustness(modelId: $m) { ${EVALUATION} } }`, { m: modelIds[name] }, key);
    expect(read.errors).toBeUndefined();
    const [evaluation] = read.data.robustness;
    expect(evaluation).toMatchObject({ id: made.data.evaluateRobustness.id, status: "READY", jobsDone: 2, jobsTotal: 2, error: null });
    expect(evaluation.software).toMatchObject({ "onnxruntime-node": expect.any(String), executionProvider: "cpu" });
    const [clean, robust] = evaluation.results;
    console.log(`${name}: clean ${clean.accuracy} (torch ${ref.cleanAccuracy}), robust ${robust.accuracy} [${robust.low}, ${robust.high}] (torch ${ref.robustAccuracy.toFixed(4)} +- ${ref.tolerance.toFixed(4)}), ${seconds.toFixed(1)} s`);
    // eps 0 is the clean accuracy: no randomness, the same float32 network as PyTorch
    expect(clean).toMatchObject({ epsilon: 0, n: 200, resamples: 1000 });
    expect(Math.abs(clean.accuracy - ref.cleanAccuracy)).toBeLessThanOrEqual(1 / 200);
    expect(robust).toMatchObject({ epsilon: REF.attack.epsilon, n: 200 });
    expect(Math.abs(robust.accuracy - ref.robustAccuracy), `${name}: ${robust.accuracy} vs torch ${ref.robustAccuracy}`).toBeLessThanOrEqual(ref.tolerance);
    expect(robust.low).toBeLessThanOrEqual(robust.accuracy);
    expect(robust.high).toBeGreaterThanOrEqual(robust.accuracy);
  });

  it("the same seed gives the same outcomes (each digit's random start depends on seed, file and eps only)", async () => {
    const ask = async () => {
      const res = await t.gql(
        `mutation($i: EvaluateRobustnessInput!) { evaluateRobustness(input: $i) { id } }`,
        { i: { modelId: modelIds.resnet_l2adv, stimulusSetId: setId, epsilons: [1], steps: 3, seed: 11 } },
        key,
      );
      expect(res.errors).toBeUndefined();
      await worker.drain();
      const read = await t.gql(`query($m: ID!) { robustness(modelId: $m, first: 1) { id results { accuracy low high } } }`, { m: modelIds.resnet_l2adv }, key);
      return read.data.robustness[0];
    };
    const [a, b] = [await ask(), await ask()];
    expect(a.id).not.toBe(b.id);
    expect(a.results).toEqual(b.results);
  });
});
