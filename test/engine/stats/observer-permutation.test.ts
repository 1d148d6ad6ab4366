import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../src/engine/random.js";
import { mixedF } from "../../../src/engine/stats/anova.js";
import { MixedStatistics, permutationObserverMixed } from "../../../src/engine/stats/observer-permutation.js";
import { PAPER_DATA } from "../../helpers/constants.js";

/** groups[observer][participant][stage] of one (experiment, model) of the released human data, stages in file order. */
function paperGroups(experiment: string, model: string): number[][][] {
  const lines = readFileSync(path.join(PAPER_DATA, "human_recognizability.csv"), "utf8").trim().split("\n").slice(1);
  const cells = new Map<string, Map<string, number>>();
  const stages: string[] = [];
  for (const line of lines) {
    const [, exp, m, participant, layer, observer, value] = line.split(",");
    if (exp !== experiment || m !== model || value === "") continue;
    if (!stages.includes(layer)) stages.push(layer);
    const key = `${observer}:${participant}`;
    (cells.get(key) ?? cells.set(key, new Map()).get(key)!).set(layer, Number(value));
  }
  const participants = [...new Set([...cells.keys()].map((k) => k.split(":")[1]))];
  return ["human", "network"].map((observer) => participants.map((p) => stages.map((s) => cells.get(`${observer}:${p}`)!.get(s)!)));
}

describe("humans vs network: the authors' mixed design and permutation scheme", () => {
  it("reproduces the authors' F(observer) = 705.9 and F(stage x observer) = 258.1 on vision experiment 3, ResNet50", () => {
    const groups = paperGroups("3", "resnet50");
    expect(groups.map((g) => g.length)).toEqual([20, 20]);
    expect(groups[0][0]).toHaveLength(8);
    const result = permutationObserverMixed(groups, { permutations: 2000, seed: 0 });
    expect(result.a.F).toBeCloseTo(705.9, 1);
    expect(result.ab.F).toBeCloseTo(258.1, 1);
    expect([result.a.df1, result.a.df2, result.ab.df1, result.ab.df2]).toEqual([1, 38, 7, 266]);
    // No relabelling of 2,000 comes near: p is the smallest the estimator allows.
    expect(result.a.p).toBe(1 / 2001);
    expect(result.ab.p).toBe(1 / 2001);
    expect(result.a.p).toBeLessThanOrEqual(0.01);
  });

  it("gives uniform-ish p-values when the observers do not differ, and is reproducible by seed", () => {
    const rng = new SeededRandom(5);
    const pValues: number[] = [];
    for (let trial = 0; trial < 40; trial++) {
      const groups = [0, 1].map(() => Array.from({ length: 6 }, () => Array.from({ length: 3 }, () => rng.normal())));
      const r = permutationObserverMixed(groups, { permutations: 199, seed: trial });
      pValues.push(r.a.p, r.ab.p);
    }
    const small = pValues.filter((p) => p <= 0.05).length / pValues.length;
    expect(small).toBeLessThan(0.15);
    expect(Math.min(...pValues)).toBeGreaterThanOrEqual(1 / 200);
    expect(pValues.filter((p) => p > 0.5).length).toBeGreaterThan(pValues.length / 4);
    const groups = paperGroups("3", "resnet50_l2_3_robust");
    expect(permutationObserverMixed(groups, { permutations: 300, seed: 9 })).toEqual(permutationObserverMixed(groups, { permutations: 300, seed: 9 }));
  });

  it("finds a planted interaction that the main effect does not carry", () => {
    const rng = new SeededRandom(11);
    // Network better at stage 0, worse at stage 2: equal means, opposite slopes.
    const groups = [1, -1].map((sign) => Array.from({ length: 10 }, () => [sign * 0.8 + rng.normal() * 0.3, rng.normal() * 0.3, -sign * 0.8 + rng.normal() * 0.3]));
    const r = permutationObserverMixed(groups, { permutations: 999, seed: 1 });
    expect(r.ab.p).toBeLessThan(0.01);
    expect(r.a.p).toBeGreaterThan(0.05);
    // The reported F is the plain mixed ANOVA's.
    const rows = groups.flat();
    expect(r.ab.F).toBeCloseTo(mixedF(rows, rows.map((_, i) => (i < 10 ? 0 : 1)), 2, 3).ab.F, 12);
  });

  it("computes the relabelled F values as mixedF does, without rebuilding the data", () => {
    const rng = new SeededRandom(17);
    const rows = Array.from({ length: 13 }, () => Array.from({ length: 4 }, () => rng.normal()));
    const kept = rows.map((_, i) => i % 3);
    const fast = new MixedStatistics(rows, kept, 3, 4);
    for (let trial = 0; trial < 5; trial++) {
      const labels = rng.shuffle(kept.slice());
      const work = rows.map((r) => rng.shuffle(r.slice()));
      const f = fast.withinF(work, labels);
      expect(f.interaction).toBeCloseTo(mixedF(work, labels, 3, 4).ab.F, 9);
      expect(f.stage).toBeCloseTo(mixedF(work, kept, 3, 4).b.F, 9);
      expect(fast.groupF(labels)).toBeCloseTo(mixedF(rows, labels, 3, 4).a.F, 9);
    }
  });

  it("refuses a permutation count that is not a positive integer", () => {
    expect(() => permutationObserverMixed([[[1, 2]], [[3, 4], [5, 6]]], { permutations: 0 })).toThrow(/positive integer, got 0/);
  });
});
