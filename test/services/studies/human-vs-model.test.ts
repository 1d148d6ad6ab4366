import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFeather2023 } from "../../../src/services/studies/feather2023.js";
import { StudyService } from "../../../src/services/studies/study-service.js";
import { StatsPool } from "../../../src/services/stats-pool.js";
import type { StatsRunner } from "../../../src/services/stats-pool.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.js";
import { PAPER_DATA } from "../../helpers/constants.js";

// Issue 12 item 6: humanVsModel is the authors' mixed design (observer between subjects) with their permutation
// scheme; on vision experiment 3, ResNet50 it gives their F(observer) = 705.9 and F(stage x observer) = 258.1.
describe("humanVsModel: the authors' mixed ANOVA over the imported paper data", () => {
  let db: TestDatabase;
  let pool: StatsPool;
  let service: StudyService;
  let caller: { groupId: string; role: "READER"; apiKeyId: string };
  const ids = new Map<string, string>();
  const tasks: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const group = await db.store.groups.createGroup("lab-anova");
    pool = new StatsPool({ threads: 1, maxQueue: 4, timeoutMs: 60_000 });
    // Record which statistics went to the pool, so the test sees they ran in the statistics process.
    const recording: StatsRunner = { run: (name, input) => (tasks.push(name), pool.run(name, input)) };
    service = new StudyService(db.store, PAPER_DATA, recording);
    await service.importFeather2023Data(group.id, await readFeather2023(PAPER_DATA));
    for (const m of (await db.store.models.list(group.id, { first: 100 })).items) ids.set(m.name, m.id);
    caller = { groupId: group.id, role: "READER", apiKeyId: "test" };
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
    await db?.drop();
  });

  it("pins F(observer) = 705.9 and F(stage x observer) = 258.1, design MIXED, p <= 0.01 on experiment 3, ResNet50", async () => {
    const r = await service.humanVsModel(caller, { modelId: ids.get("resnet50")!, experiment: "3", permutations: 1000, seed: 0 });
    expect(r.design).toBe("MIXED");
    expect(r.experiment).toBe("3");
    expect(r.subjects).toBe(20);
    expect(r.stages).toHaveLength(8);
    expect(r.stages).toContain("natural_image");
    expect(r.factor.F).toBeCloseTo(705.9, 1);
    expect(r.interaction.F).toBeCloseTo(258.1, 1);
    expect(r.factor.p).toBeLessThanOrEqual(0.01);
    expect(r.interaction.p).toBeLessThanOrEqual(0.01);
    expect([r.factor.df1, r.factor.df2]).toEqual([1, 38]);
    expect(tasks).toContain("permutationObserverMixed");
  });

  it("pools participants of every experiment without `experiment`", async () => {
    const pooled = await service.humanVsModel(caller, { modelId: ids.get("resnet50")!, permutations: 200, seed: 1 });
    expect(pooled.experiment).toBeNull();
    expect(pooled.subjects).toBe(84);
    expect(pooled.design).toBe("MIXED");
    expect(pooled.factor.F).not.toBeCloseTo(705.9, 1);
  });

  it("names the model's experiments when the one asked for has no scores, and checks the counts", async () => {
    await expect(service.humanVsModel(caller, { modelId: ids.get("resnet50")!, experiment: "42" })).rejects.toThrow(
      /experiment: model 'resnet50' has no scores in experiment '42'; its experiments: 1, 3, 5, 10/,
    );
    await expect(service.humanVsModel(caller, { modelId: ids.get("resnet50")!, permutations: 100_001 })).rejects.toThrow(
      /permutations: expected an integer from 1 to 100000 .* got 100001/,
    );
    await expect(service.humanVsModel(caller, { modelId: "nope" })).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
  });
});
