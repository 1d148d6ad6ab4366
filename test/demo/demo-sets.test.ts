// The demo's stimulus sets: a group holds one set of a name, so an interrupted upload is resumed in the same set (the
// files it lacks are added), never retried under the same name (which the hub refuses) or duplicated.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetamersClient } from "../../src/cli/client.js";
import { ensureReferenceSet, ensureStimulusSet, type DigitFile } from "../../src/demo/api.js";
import { digitPng } from "../../src/demo/digits.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

const LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
let t: TestApp;
let client: MetamersClient;
let modelId: string;
let digits: DigitFile[];

beforeAll(async () => {
  t = await startTestApp();
  const { key } = await t.createGroupWithKey("demo-sets", "MEMBER");
  client = new MetamersClient(t.url, key);
  const onnx = readFileSync(path.resolve(import.meta.dirname, "../../models/demo/lenet.onnx"));
  const registered = await client.gql<{ registerModel: { id: string } }>(
    `mutation($input: RegisterModelInput!) { registerModel(input: $input) { id } }`,
    { input: { name: "lenet", modality: "IMAGE", data: onnx.toString("base64"), inputRange: [0, 1], classLabels: LABELS } },
  );
  modelId = registered.registerModel.id;
  digits = await Promise.all(
    Array.from({ length: 6 }, async (_, i) => ({ index: 100 + i, label: LABELS[i % 10], png: await digitPng(Float32Array.from({ length: 784 }, (_, k) => ((k * (i + 3)) % 17) / 16)) })),
  );
}, 120_000);

afterAll(async () => {
  await t?.close();
});

async function setsNamed(name: string): Promise<{ id: string; count: number }[]> {
  const res = await client.gql<{ stimulusSets: { edges: { node: { id: string; name: string; stimuli: { totalCount: number } } }[] } }>(
    `{ stimulusSets(first: 100) { edges { node { id name stimuli(first: 1) { totalCount } } } } }`,
  );
  return res.stimulusSets.edges.filter((e) => e.node.name === name).map((e) => ({ id: e.node.id, count: e.node.stimuli.totalCount }));
}

describe("demo stimulus sets", () => {
  it("resumes an interrupted upload in the same set and returns the stimuli in the digits' order", async () => {
    const first = await ensureStimulusSet(client, "mnist-test-x", LABELS, digits.slice(0, 2), modelId); // the interrupted run
    const full = await ensureStimulusSet(client, "mnist-test-x", LABELS, digits, modelId);
    expect(full.setId).toBe(first.setId);
    expect(full.stimuli.slice(0, 2)).toEqual(first.stimuli);
    expect(full.stimuli.map((s) => s.label)).toEqual(digits.map((d) => d.label));
    expect(new Set(full.stimuli.map((s) => s.id)).size).toBe(6);
    expect(await setsNamed("mnist-test-x")).toEqual([{ id: first.setId, count: 6 }]);
    const again = await ensureStimulusSet(client, "mnist-test-x", LABELS, digits, modelId);
    expect(again).toEqual(full);
  }, 120_000);

  it("tops up the reference set the same way", async () => {
    const partial = await ensureReferenceSet(client, "mnist-train-reference-x", LABELS, digits.slice(0, 3), modelId);
    const whole = await ensureReferenceSet(client, "mnist-train-reference-x", LABELS, digits, modelId);
    expect(whole).toBe(partial);
    expect(await setsNamed("mnist-train-reference-x")).toEqual([{ id: partial, count: 6 }]);
  }, 120_000);
});
