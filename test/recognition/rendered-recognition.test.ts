import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../../src/engine/index.js";
import { MetricsService } from "../../src/services/metrics/recognizability-service.js";
import { enqueueRecognitionForMetamers, RecognitionService } from "../../src/services/recognition.js";
import type { ModelRecord } from "../../src/store/models.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { repoRoot } from "../helpers/synthesis-fixtures.js";
import {
  drainRecognition, linearClassifier, recognitionsOf, referenceLogits, registerModel, storeMetamers, storeStimuli, type StoredMetamer,
} from "./fixture.js";

// Issue 12 item 4: recognizers classify what a person sees, the saved PNG decoded back (rescaled linearly from the
// generator's declared input range to the recognizer's), never the float iterate.
const LABELS = ["cat", "dog", "car", "cup"];
const label = (logits: number[]) => LABELS[argmax(logits)];

describe("recognition of the decoded rendering", () => {
  let db: TestDatabase;
  let groupId: string;
  const c = { gen: linearClassifier(21, 4), same: linearClassifier(22, 4), wide: linearClassifier(23, 4, 10) };
  // (wide's large biases make its answers depend on the input's scale, as a real model's do)
  let gen: ModelRecord;
  let same: ModelRecord;
  let wide: ModelRecord;
  let metamers: StoredMetamer[];
  let stimulusIds: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    groupId = (await db.store.groups.createGroup("lab-rendered")).id;
    gen = await registerModel(db.store, groupId, "gen", c.gen, { labels: LABELS, range: [0, 1] });
    same = await registerModel(db.store, groupId, "same-range", c.same, { labels: LABELS, range: [0, 1] });
    // Declares 0-255 inputs: the [0, 1] rendering must reach it as 0-255 values.
    wide = await registerModel(db.store, groupId, "range-255", c.wide, { labels: LABELS, range: [0, 255] });
    const { stimuli } = await storeStimuli(db.store, groupId, LABELS, 8, 5);
    stimulusIds = stimuli.map((s) => s.id);
    // The rendering shows another image than the iterate, so the two inputs give different answers.
    metamers = await storeMetamers(db.store, gen, stimuli, { seed: 7, count: 40, renderOther: true });
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it("schedules every model with the generator's shape, the generator included, whatever its declared range", async () => {
    const found = await db.store.recognition.recognizersForMetamers(metamers.map((m) => m.id));
    expect(found.map((f) => f.recognizerId).sort()).toEqual([gen.id, same.id, wide.id].sort());
    expect(found.every((f) => f.metamerIds.length === 40)).toBe(true);
    await enqueueRecognitionForMetamers(db.store, metamers.map((m) => m.id));
    expect(await drainRecognition(db.store)).toBeGreaterThan(0);
    for (const m of [gen, same, wide]) expect(await db.store.recognition.countFor(m.id)).toEqual({ metamers: 40, stimuli: 8 });
  }, 120_000);

  it("classifies the saved PNG decoded back, not the float iterate (the generator too)", async () => {
    for (const [model, classifier] of [[gen, c.gen], [same, c.same]] as const) {
      const rows = await recognitionsOf(db.store, model.id);
      let differs = 0;
      for (const m of metamers) {
        const expected = label(referenceLogits(classifier, m.rendered));
        expect(rows.get(m.id)).toMatchObject({ predictedLabel: expected, correct: expected === m.label });
        if (label(referenceLogits(classifier, m.iterate)) !== expected) differs++;
      }
      // Not a vacuous check: on many metamers the iterate would have given another answer.
      expect(differs).toBeGreaterThan(10);
    }
  });

  it("rescales the rendering linearly from the generator's declared range [0, 1] to the recognizer's [0, 255]", async () => {
    const rows = await recognitionsOf(db.store, wide.id);
    let differs = 0;
    for (const m of metamers) {
      const expected = label(referenceLogits(c.wide, m.rendered.map((v) => v * 255)));
      expect(rows.get(m.id)?.predictedLabel).toBe(expected);
      if (label(referenceLogits(c.wide, m.rendered)) !== expected) differs++;
    }
    // Without the rescaling (the [0, 1] values fed as they are) the answers differ.
    expect(differs).toBeGreaterThan(5);
  });

  it("on upgrade, the migration deletes the iterate-based rows and recognizeBacklog recomputes them from the renderings", async () => {
    const store = db.store;
    const client = new pg.Client(db.config);
    await client.connect();
    try {
      // Rows as the old code wrote them: the iterate's answers.
      await client.query(`DELETE FROM "Recognition" WHERE "metamerId" IS NOT NULL`);
      await store.recognition.insert(metamers.map((m) => {
        const predicted = label(referenceLogits(c.same, m.iterate));
        return { recognizerId: same.id, metamerId: m.id, stimulusId: null, predictedLabel: predicted, correct: predicted === m.label };
      }));
      // The hand-written part of this change's migration, statement by statement (as the pg adapter runs it).
      const dir = readdirSync(path.join(repoRoot, "prisma/migrations")).find((d) => d.endsWith("_label_maps_rendered_recognition"))!;
      const sql = readFileSync(path.join(repoRoot, "prisma/migrations", dir, "migration.sql"), "utf8");
      for (const statement of sql.slice(sql.indexOf("-- Hand-written")).split(";").map((s) => s.trim()).filter(Boolean)) {
        await client.query(statement);
      }
      const { rows: left } = await client.query(`SELECT count(*)::int AS n FROM "Recognition" WHERE "metamerId" IS NOT NULL`);
      expect(left[0].n).toBe(0);
      const { rows: tallies } = await client.query(`SELECT count(*)::int AS n FROM "RecognitionTally"`);
      expect(tallies[0].n).toBe(0);
    } finally {
      await client.end();
    }
    // Natural stimuli are still decoded from their files: their rows stay.
    expect(await store.recognition.countFor(same.id)).toEqual({ metamers: 0, stimuli: 8 });

    const member = { groupId, role: "MEMBER" as const, apiKeyId: "test" };
    for (const m of [gen, same, wide]) expect((await new RecognitionService(store).recognizeBacklog(member, m.id)).length).toBe(1);
    await drainRecognition(store);
    const rows = await recognitionsOf(store, same.id);
    for (const m of metamers) expect(rows.get(m.id)?.predictedLabel).toBe(label(referenceLogits(c.same, m.rendered)));
    expect(rows.size).toBe(40 + stimulusIds.length);

    // The tallies are whole again: one cell per recognizer with the 40 metamers, accuracy from the renderings.
    const cells = await new MetricsService(store).crossModelMatrix(member, { generatorIds: [gen.id], recognizerIds: [gen.id, same.id, wide.id], stage: "logits" });
    expect(cells.map((x) => x.n)).toEqual([40, 40, 40]);
    const sameCell = cells.find((x) => x.recognizerId === same.id)!;
    const correct = metamers.filter((m) => label(referenceLogits(c.same, m.rendered)) === m.label).length;
    expect(sameCell.accuracy).toBeCloseTo(correct / 40, 12);
  }, 120_000);
});
