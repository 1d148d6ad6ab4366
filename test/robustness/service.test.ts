// evaluateRobustness / robustness(modelId): what is refused before anything is queued (each with its code and a
// message naming what was expected and what arrived), who may see what, and a small evaluation end to end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax, ForwardSession } from "../../src/engine/index.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let otherKey: string;
let worker: ReturnType<typeof inProcessWorker>;
let lenetId: string;
let labelledSetId: string;
let wrongLabelSetId: string;

const MUTATION = `mutation($i: EvaluateRobustnessInput!) { evaluateRobustness(input: $i) { id status jobsDone jobsTotal n epsilons results { epsilon accuracy low high n } } }`;

beforeAll(async () => {
  t = await startTestApp();
  const created = await t.createGroupWithKey("robust-a", "MEMBER");
  key = created.key;
  otherKey = (await t.createGroupWithKey("robust-b", "MEMBER")).key;
  const ctx = { groupId: created.groupId, role: "ADMIN" as const, apiKeyId: "test" };
  lenetId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 6);
  const labels = Array.from({ length: 10 }, (_, i) => `class${i}`);
  const set = await t.services.stimuli.createSet(ctx, { name: "labelled", modality: "IMAGE", classLabels: labels });
  await t.services.stimuli.addStimuli(ctx, { setId: set.id, modelId: lenetId, items: pngs.map((data, i) => ({ label: `class${i % 3}`, filename: `s${i}.png`, data })) });
  labelledSetId = set.id;
  const wrong = await t.services.stimuli.createSet(ctx, { name: "wrong", modality: "IMAGE", classLabels: ["cat"] });
  await t.services.stimuli.addStimuli(ctx, { setId: wrong.id, modelId: lenetId, items: [{ label: "cat", filename: "cat.png", data: pngs[0] }] });
  wrongLabelSetId = wrong.id;
  worker = inProcessWorker(t);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

async function cleanAccuracy(): Promise<number> {
  const model = (await t.store.models.findById(lenetId))!;
  const forward = await ForwardSession.create((await t.store.blobs.get(model.sha256!))!, [model.outputName!]);
  let correct = 0;
  const stimuli = await t.store.stimuli.allStimuli(labelledSetId);
  for (const s of stimuli) {
    const x = await t.services.stimuli.inputTensor(s, { shape: model.inputShape, inputRange: [0, 1], sampleRate: null, rms: null });
    const logits = (await forward.run(x))[model.outputName!];
    if (model.classLabels[argmax(logits)] === s.label) correct++;
  }
  await forward.release();
  return correct / stimuli.length;
}

describe("evaluateRobustness", () => {
  it("runs a small L2 and LINF evaluation: progress, per-eps results with a CI, eps 0 = clean accuracy", async () => {
    for (const norm of ["L2", "LINF"]) {
      const made = await t.gql(MUTATION, { i: { modelId: lenetId, stimulusSetId: labelledSetId, norm, epsilons: [0, 0.05, 3], steps: 5, stepSize: norm === "L2" ? 1 : 0.02 } }, key);
      expect(made.errors).toBeUndefined();
      expect(made.data.evaluateRobustness).toMatchObject({ status: "PENDING", jobsDone: 0, jobsTotal: 1, n: 6, epsilons: [0, 0.05, 3], results: [] });
      expect(await worker.drain()).toEqual(["ROBUSTNESS:succeeded"]);
      const read = await t.gql(`query($m: ID!) { robustness(modelId: $m, first: 1) { id status jobsDone jobsTotal results { epsilon accuracy low high n } } }`, { m: lenetId }, key);
      const [e] = read.data.robustness;
      expect(e).toMatchObject({ id: made.data.evaluateRobustness.id, status: "READY", jobsDone: 1, jobsTotal: 1 });
      expect(e.results.map((r: { epsilon: number }) => r.epsilon)).toEqual([0, 0.05, 3]);
      for (const r of e.results) {
        expect(r.n).toBe(6);
        expect(r.low).toBeLessThanOrEqual(r.accuracy);
        expect(r.high).toBeGreaterThanOrEqual(r.accuracy);
      }
      // eps 0 is the clean accuracy: the model's own forward pass on the stored tensors
      expect(e.results[0].accuracy).toBeCloseTo(await cleanAccuracy(), 12);
      // an attack can only lower accuracy (how much is the demo-subset test's business: this LeNet has random weights)
      expect(e.results[1].accuracy).toBeLessThanOrEqual(e.results[0].accuracy);
      expect(e.results[2].accuracy).toBeLessThanOrEqual(e.results[1].accuracy);
    }
  });

  it.each([
    [{ epsilons: [] }, "BAD_USER_INPUT", /epsilons: expected 1 to 16 values, got 0/],
    [{ epsilons: [1, 1] }, "BAD_USER_INPUT", /epsilons: expected distinct values, got \[1, 1\]/],
    [{ epsilons: [-1] }, "BAD_USER_INPUT", /epsilon: expected a finite number >= 0, got -1/],
    [{ stepSize: 0 }, "BAD_USER_INPUT", /stepSize: expected a finite number > 0, got 0/],
    [{ steps: 5000 }, "BAD_USER_INPUT", /steps: expected an integer from 1 to 1000 \(PGD steps of a robustness evaluation\), got 5000/],
  ])("refuses %j", async (extra, code, message) => {
    const res = await t.gql(MUTATION, { i: { modelId: lenetId, stimulusSetId: labelledSetId, ...extra } }, key);
    expect(res.errors?.[0].extensions?.code).toBe(code);
    expect(res.errors?.[0].message).toMatch(message);
  });

  it("refuses a set whose labels are not the model's classes, naming them", async () => {
    const res = await t.gql(MUTATION, { i: { modelId: lenetId, stimulusSetId: wrongLabelSetId } }, key);
    expect(res.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(res.errors?.[0].message).toMatch(/1 stimuli have labels that are not classes of model lenet \(expected one of class0, .*\), e.g. 'cat.png' \(label 'cat'\)/);
  });

  it("another group sees neither the model nor its evaluations", async () => {
    const made = await t.gql(MUTATION, { i: { modelId: lenetId, stimulusSetId: labelledSetId } }, otherKey);
    expect(made.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const read = await t.gql(`query($m: ID!) { robustness(modelId: $m) { id } }`, { m: lenetId }, otherKey);
    expect(read.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect(read.errors?.[0].message).toMatch(/modelId: no model '.*' visible to this group/);
  });

  it("bounds the page size of robustness(modelId)", async () => {
    const read = await t.gql(`query($m: ID!) { robustness(modelId: $m, first: 100000) { id } }`, { m: lenetId }, key);
    expect(read.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(read.errors?.[0].message).toMatch(/first: expected an integer from 1 to 500/);
  });
});
