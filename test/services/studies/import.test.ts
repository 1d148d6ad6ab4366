import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFeather2023, type Feather2023Data } from "../../../src/services/studies/feather2023.js";
import { StudyService } from "../../../src/services/studies/study-service.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.js";
import { PAPER_DATA } from "../../helpers/constants.js";

const paperData = PAPER_DATA;

describe("feather2023 import", () => {
  let db: TestDatabase;
  let data: Feather2023Data;
  beforeAll(async () => {
    db = await createTestDatabase();
    data = await readFeather2023(paperData);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("loads every row once, and a second import (or a concurrent one) changes nothing", async () => {
    const group = await db.store.groups.createGroup("lab-import");
    const service = new StudyService(db.store, paperData);
    const first = await service.importFeather2023Data(group.id, data);
    expect(first).toMatchObject({
      created: true, models: 48, humanScores: 21302, humanScoresInserted: 21302,
      crossModelResults: 5808, crossModelResultsInserted: 5808,
    });
    const counts = await db.store.countRows();
    expect(counts).toMatchObject({ Study: 1, Model: 48, HumanScore: 21302, CrossModelResult: 5808 });

    const [again, parallel] = await Promise.all([
      service.importFeather2023From(group.id, paperData),
      service.importFeather2023Data(group.id, data),
    ]);
    for (const r of [again, parallel]) {
      expect(r).toMatchObject({ created: false, studyId: first.studyId, humanScoresInserted: 0, crossModelResultsInserted: 0 });
    }
    expect(await db.store.countRows()).toEqual(counts);
    // The per-metamer string survives byte for byte.
    const resnet = await db.store.models.list(group.id, { first: 100, filter: { name: "resnet50" } });
    expect(resnet.items).toHaveLength(1);
    expect(resnet.items[0].source).toBe("REFERENCE");
    expect((await db.store.models.layers(resnet.items[0].id)).map((l) => l.name).at(-1)).toBe("final");
    console.log(`import: first ${first.elapsedMs} ms, re-import ${again.elapsedMs} ms`);
  });

  it("keeps a group's own model of the same name apart (reference models get the next version)", async () => {
    const group = await db.store.groups.createGroup("lab-clash");
    await db.store.transaction((tx) =>
      tx.models.create(
        {
          groupId: group.id, name: "resnet50", modality: "IMAGE", sha256: "x", byteSize: 1, opset: 17, inputName: "input",
          inputShape: [1, 3, 224, 224], inputRange: [0, 1], sampleRate: null, outputName: "logits", classLabels: [],
          training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
        },
        [],
      ),
    );
    const summary = await new StudyService(db.store, paperData).importFeather2023Data(group.id, data);
    const versions = await db.store.models.list(group.id, { first: 100, filter: { name: "resnet50" } });
    expect(versions.items.map((m) => [m.version, m.source]).sort()).toEqual([[1, "UPLOADED"], [2, "REFERENCE"]]);
    expect(summary.models).toBe(48);
  });
});
