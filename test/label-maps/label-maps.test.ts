import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax, forcedChoice } from "../../src/engine/index.js";
import { SeededRandom } from "../../src/engine/random.js";
import { LabelMapService, parseLabelMap } from "../../src/services/label-maps.js";
import { enqueueRecognitionForMetamers } from "../../src/services/recognition.js";
import type { ModelRecord } from "../../src/store/models.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import {
  drainRecognition, linearClassifier, recognitionsOf, referenceLogits, registerModel, storeMetamers, storeStimuli, type Classifier, type StoredMetamer,
} from "../recognition/fixture.js";

// Issue 12 item 5: label maps, scored as the authors' force_16_choice (model_metamers_pytorch): walk the classes from
// the largest logit down and answer the category of the first class that has one.
function force16Choice(logits: number[], classLabels: string[], categories: Record<string, string[]>): string {
  const mapped = new Map(Object.entries(categories).flatMap(([cat, classes]) => classes.map((c) => [c, cat] as const)));
  const order = logits.map((_, i) => i).sort((i, j) => logits[j] - logits[i] || i - j);
  for (const i of order) if (mapped.has(classLabels[i])) return mapped.get(classLabels[i])!;
  throw new Error("no mapped class");
}

const CATEGORIES = ["animal", "vehicle", "tool", "food"];
const A_LABELS = Array.from({ length: 20 }, (_, i) => `a${i}`);
const B_LABELS = Array.from({ length: 30 }, (_, i) => `b${i}`);
// 20 classes -> 4 categories of 4 (a4, a9, a14, a19 unmapped, as 788 of ImageNet's 1000 classes are in the 16-way map).
const A_MAP = Object.fromEntries(CATEGORIES.map((c, j) => [c, [0, 1, 2, 3].map((k) => `a${5 * j + k}`)]));
// A recognizer with other classes (30) mapped onto the same 4 categories (6 each, 6 unmapped).
const B_MAP = Object.fromEntries(CATEGORIES.map((c, j) => [c, [0, 1, 2, 3, 4, 5].map((k) => `b${6 * j + k}`)]));
const categoryOfA = (label: string) => Object.entries(A_MAP).find(([, classes]) => classes.includes(label))?.[0];

describe("forcedChoice (the label check and recognition decision)", () => {
  it("equals force_16_choice on 2,000 seeded logit vectors, and is the plain argmax class without a map", () => {
    const rng = new SeededRandom(3);
    const classToCategory = Object.fromEntries(Object.entries(A_MAP).flatMap(([cat, classes]) => classes.map((c) => [c, cat])));
    let restricted = 0;
    for (let t = 0; t < 2000; t++) {
      const logits = Array.from({ length: 20 }, () => rng.normal());
      const expected = force16Choice(logits, A_LABELS, A_MAP);
      expect(forcedChoice(logits, A_LABELS, classToCategory)).toBe(expected);
      expect(forcedChoice(logits, A_LABELS, null)).toBe(A_LABELS[argmax(logits)]);
      // The top class is unmapped this often, so the restriction to mapped classes is exercised.
      if (classToCategory[A_LABELS[argmax(logits)]] === undefined) restricted++;
    }
    expect(restricted).toBeGreaterThan(300);
    expect(forcedChoice([1, 2], ["x", "y"], { z: "cat" })).toBeNull();
  });
});

describe("parseLabelMap: bad uploads are refused, naming what arrived", () => {
  const refused = (json: string, message: RegExp) => {
    expect(() => parseLabelMap(json)).toThrow(message);
    try {
      parseLabelMap(json);
    } catch (e) {
      expect((e as { code?: string }).code).toBe("BAD_USER_INPUT");
    }
  };
  it("refuses JSON that does not parse, a wrong shape, empty or non-string labels", () => {
    refused(`{"categories": {"dog": ["n1",]}`, /json: expected JSON like .*does not parse/);
    refused(`["dog"]`, /expected an object with a "categories" object.*got \["dog"\]/);
    refused(`{"categories": {}}`, /at least one category, got none/);
    refused(`{"categories": {"dog": "n1"}, "x": 1}`, /only the key "categories", got also "x"/);
    refused(`{"categories": {"dog": "n1"}}`, /json.categories\["dog"\]: expected a non-empty list of class labels, got 'n1'/);
    refused(`{"categories": {"dog": ["n1", 7]}}`, /json.categories\["dog"\]\[1\]: expected a class label .* got 7/);
  });
  it("refuses overlapping categories, a class listed twice, and a class named like another category", () => {
    refused(`{"categories": {"dog": ["n1", "n2"], "cat": ["n3", "n2"]}}`, /class 'n2' is in categories 'dog' and 'cat'; categories must not overlap/);
    refused(`{"categories": {"dog": ["n1", "n1"]}}`, /class 'n1' is listed twice in category 'dog'/);
    refused(`{"categories": {"dog": ["n1"], "animal": ["dog"]}}`, /class 'dog' \(in category 'animal'\) is also the name of a category/);
  });
  it("accepts the authors' shape", () => {
    expect(parseLabelMap(JSON.stringify({ categories: A_MAP }))).toEqual(A_MAP);
  });
});

describe("label maps in recognition", () => {
  let db: TestDatabase;
  let groupId: string;
  const member = () => ({ groupId, role: "MEMBER" as const, apiKeyId: "test" });
  const c = { a: linearClassifier(31, 20), b: linearClassifier(32, 30), c: linearClassifier(33, 4), d: linearClassifier(34, 20) };
  let a: ModelRecord;
  let b: ModelRecord;
  let cModel: ModelRecord;
  let d: ModelRecord;
  let metamers: StoredMetamer[];
  let stimuli: { id: string; label: string }[];
  let stimulusTensors: Float32Array[];
  let service: LabelMapService;

  beforeAll(async () => {
    db = await createTestDatabase();
    service = new LabelMapService(db.store);
    groupId = (await db.store.groups.createGroup("lab-label-maps")).id;
    // Inputs in [-1, 1] (zero mean), so that the random linear classifiers' answers vary from input to input.
    const range: [number, number] = [-1, 1];
    a = await registerModel(db.store, groupId, "a-20way", c.a, { labels: A_LABELS, range });
    b = await registerModel(db.store, groupId, "b-30way", c.b, { labels: B_LABELS, range });
    cModel = await registerModel(db.store, groupId, "c-4way", c.c, { labels: CATEGORIES, range }); // classes = the categories
    d = await registerModel(db.store, groupId, "d-20way", c.d, { labels: A_LABELS, range }); // A's classes, no map
    // Stimuli labelled with A's classes, the unmapped a4/a9/a14/a19 among them.
    ({ stimuli, tensors: stimulusTensors } = await storeStimuli(db.store, groupId, A_LABELS, 20, 8, range));
    metamers = await storeMetamers(db.store, a, stimuli, { seed: 9, count: 60 });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it("refuses an unknown label, a taken name and a map of another group, with clear errors", async () => {
    const map = await service.create(member(), "four-a", JSON.stringify({ categories: A_MAP }));
    expect(map.categoryNames).toEqual(CATEGORIES);
    await expect(service.create(member(), "four-a", JSON.stringify({ categories: A_MAP }))).rejects.toMatchObject({ code: "CONFLICT" });
    // A's map on B: none of A's classes are B's.
    await expect(service.setModelLabelMap(member(), b.id, map.id)).rejects.toThrow(
      /label map 'four-a' lists 16 label\(s\) that are not classes of model 'b-30way' \(30 classes\): 'a0', 'a1', 'a2', 'a3', 'a5', \.\.\./,
    );
    await expect(service.setModelLabelMap(member(), b.id, map.id)).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    const other = (await db.store.groups.createGroup("other-lab")).id;
    await expect(service.setModelLabelMap({ groupId: other, role: "MEMBER", apiKeyId: "t" }, a.id, map.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(service.setModelLabelMap(member(), a.id, "not-an-id")).rejects.toThrow(/labelMapId: expected a label map id \(a UUID\) or null, got 'not-an-id'/);
  });

  it("without maps, only the models with A's classes score A's metamers (in A's 20 classes)", async () => {
    await enqueueRecognitionForMetamers(db.store, metamers.map((m) => m.id));
    await drainRecognition(db.store);
    expect((await db.store.recognition.countFor(a.id)).metamers).toBe(60);
    expect((await db.store.recognition.countFor(d.id)).metamers).toBe(60);
    expect(await db.store.recognition.countFor(b.id)).toEqual({ metamers: 0, stimuli: 0 });
    expect(await db.store.recognition.countFor(cModel.id)).toEqual({ metamers: 0, stimuli: 0 });
  }, 120_000);

  it("with maps sharing the 4 categories, 20-way and 30-way models score each other's metamers 4-way (force_16_choice)", async () => {
    const mapA = (await db.store.labelMaps.findByName(groupId, "four-a"))!;
    const mapB = await service.create(member(), "four-b", JSON.stringify({ categories: B_MAP }));
    await service.setModelLabelMap(member(), a.id, mapA.id);
    await service.setModelLabelMap(member(), b.id, mapB.id);
    expect((await service.forModel(a.id))?.name).toBe("four-a");
    await drainRecognition(db.store);

    const mapped = metamers.filter((m) => categoryOfA(m.label) !== undefined);
    expect(mapped.length).toBe(48); // 60 metamers, 1 in 5 of an unmapped class
    const check = async (model: ModelRecord, classifier: Classifier, score: (logits: number[]) => string, truth: (m: StoredMetamer) => string | undefined, map?: Record<string, string[]>) => {
      const rows = await recognitionsOf(db.store, model.id);
      let scored = 0;
      let topUnmapped = 0;
      for (const m of metamers) {
        const expectedTruth = truth(m);
        if (expectedTruth === undefined) {
          expect(rows.has(m.id)).toBe(false); // no answer in its label space: not scored
          continue;
        }
        const predicted = score(referenceLogits(classifier, m.rendered));
        expect(rows.get(m.id)).toMatchObject({ predictedLabel: predicted, correct: predicted === expectedTruth });
        scored++;
        const logits = referenceLogits(classifier, m.rendered);
        if (map && !Object.values(map).flat().includes(model.classLabels[argmax(logits)])) topUnmapped++;
      }
      // With a map, the largest logit is often an unmapped class: the decision's restriction to mapped classes matters.
      if (map) expect(topUnmapped).toBeGreaterThan(3);
      return scored;
    };
    // A scores its own metamers in its categories (a stimulus of an unmapped class has no answer there).
    expect(await check(a, c.a, (l) => force16Choice(l, A_LABELS, A_MAP), (m) => categoryOfA(m.label), A_MAP)).toBe(48);
    // B, with other classes, scores them in the shared categories: the target is the category under A's map.
    expect(await check(b, c.b, (l) => force16Choice(l, B_LABELS, B_MAP), (m) => categoryOfA(m.label), B_MAP)).toBe(48);
    // C's own classes are the categories: scored through A's map.
    expect(await check(cModel, c.c, (l) => CATEGORIES[argmax(l)], (m) => categoryOfA(m.label))).toBe(48);
    // D, without a map, still answers in A's 20 classes (its rows were not touched).
    expect(await check(d, c.d, (l) => A_LABELS[argmax(l)], (m) => m.label)).toBe(60);

    // Natural stimuli are scored in the recognizer's own label space: A in its categories, B not at all (A's class
    // labels mean nothing in B's map).
    const naturalA = await recognitionsOf(db.store, a.id);
    for (const [i, s] of stimuli.entries()) {
      const truth = categoryOfA(s.label);
      if (truth === undefined) expect(naturalA.has(s.id)).toBe(false);
      else expect(naturalA.get(s.id)?.predictedLabel).toBe(force16Choice(referenceLogits(c.a, stimulusTensors[i]), A_LABELS, A_MAP));
    }
    expect((await db.store.recognition.countFor(b.id)).stimuli).toBe(0);
    // Nothing is left over: a model's backlog is empty once its jobs ran.
    for (const m of [a, b, cModel, d]) expect(await db.store.recognition.unrecognizedFor(m.id)).toEqual({ metamerIds: [], stimulusIds: [] });
  }, 180_000);
});
