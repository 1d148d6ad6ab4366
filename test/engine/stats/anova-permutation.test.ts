import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../src/engine/random.js";
import { mixedF, repeatedMeasuresF } from "../../../src/engine/stats/anova.js";
import { permutationMixed, permutationRepeatedMeasures, RepeatedMeasuresStatistics } from "../../../src/engine/stats/permutation.js";

// Independent references: for two-level factors the ANOVA F equals a squared t statistic.
function pairedT2(d: number[]): number {
  const n = d.length;
  const m = d.reduce((x, y) => x + y, 0) / n;
  const v = d.reduce((acc, x) => acc + (x - m) ** 2, 0) / (n - 1);
  return (m * m) / (v / n);
}
function pooledT2(x: number[], y: number[]): number {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  const ss = x.reduce((a, v) => a + (v - mx) ** 2, 0) + y.reduce((a, v) => a + (v - my) ** 2, 0);
  const pooled = ss / (x.length + y.length - 2);
  return (mx - my) ** 2 / (pooled * (1 / x.length + 1 / y.length));
}

function randomCube(rng: SeededRandom, S: number, A: number, B: number, effect: number): number[][][] {
  return Array.from({ length: S }, () => {
    const subject = rng.normal();
    return Array.from({ length: A }, (_, a) => Array.from({ length: B }, (_, b) => subject + effect * a * (b + 1) + rng.normal()));
  });
}

describe("repeated-measures ANOVA F", () => {
  it("equals paired t^2 for each effect of a 2 x 2 design", () => {
    const y = randomCube(new SeededRandom(1), 9, 2, 2, 0.4);
    const f = repeatedMeasuresF(y, 9, 2, 2);
    const mainA = y.map((s) => (s[1][0] + s[1][1] - s[0][0] - s[0][1]) / 2);
    const mainB = y.map((s) => (s[0][1] + s[1][1] - s[0][0] - s[1][0]) / 2);
    const inter = y.map((s) => s[1][1] - s[1][0] - s[0][1] + s[0][0]);
    expect(f.a.F).toBeCloseTo(pairedT2(mainA), 9);
    expect(f.b.F).toBeCloseTo(pairedT2(mainB), 9);
    expect(f.ab.F).toBeCloseTo(pairedT2(inter), 9);
    expect([f.a.df1, f.a.df2, f.ab.df2]).toEqual([1, 8, 8]);
  });
});

describe("mixed ANOVA F", () => {
  it("reduces to one-way ANOVA with one stage (scipy.stats.f_oneway reference)", () => {
    const groups = [[0.2, 0.4, 0.35, 0.5], [0.6, 0.55, 0.7], [0.1, 0.3, 0.2, 0.25, 0.15]];
    const rows = groups.flat().map((v) => [v]);
    const labels = groups.flatMap((g, i) => g.map(() => i));
    const f = mixedF(rows, labels, 3, 1);
    expect(f.a.F).toBeCloseTo(17.539900249376572, 9);
    expect([f.a.df1, f.a.df2]).toEqual([2, 9]);
  });

  it("gives pooled two-sample t^2 for the group effect and the group x stage interaction (2 groups x 2 stages)", () => {
    const rng = new SeededRandom(2);
    const rows = Array.from({ length: 11 }, (_, i) => [rng.normal() + (i < 5 ? 0.5 : 0), rng.normal()]);
    const labels = rows.map((_, i) => (i < 5 ? 0 : 1));
    const f = mixedF(rows, labels, 2, 2);
    const means = rows.map((r) => (r[0] + r[1]) / 2);
    const diffs = rows.map((r) => r[1] - r[0]);
    expect(f.a.F).toBeCloseTo(pooledT2(means.slice(0, 5), means.slice(5)), 9);
    expect(f.ab.F).toBeCloseTo(pooledT2(diffs.slice(0, 5), diffs.slice(5)), 9);
  });
});

describe("relabelled F statistics without rebuilding the data", () => {
  it("equal repeatedMeasuresF on explicitly relabelled data (3 levels x 4 stages)", () => {
    const rng = new SeededRandom(8);
    const S = 6, A = 3, B = 4;
    const y = randomCube(rng, S, A, B, 0.3);
    const fast = new RepeatedMeasuresStatistics(y, S, A, B);
    for (let trial = 0; trial < 20; trial++) {
      const rows = Array.from({ length: S }, () => rng.shuffle([0, 1, 2]));
      const cols = Array.from({ length: S }, () => rng.shuffle([0, 1, 2, 3]));
      const cells = Array.from({ length: S * B }, () => rng.shuffle([0, 1, 2]));
      const byRows = y.map((subject, s) => rows[s].map((old) => subject[old].slice()));
      const byCols = y.map((subject, s) => subject.map((row) => cols[s].map((old) => row[old])));
      const byCells = y.map((subject, s) => subject.map((_, a) => subject[0].map((__, b) => subject[cells[s * B + b][a]][b])));
      expect(fast.firstFactorF((s) => rows[s])).toBeCloseTo(repeatedMeasuresF(byRows, S, A, B).a.F, 9);
      expect(fast.stageF((s) => cols[s])).toBeCloseTo(repeatedMeasuresF(byCols, S, A, B).b.F, 9);
      expect(fast.interactionF((c) => cells[c])).toBeCloseTo(repeatedMeasuresF(byCells, S, A, B).ab.F, 9);
    }
  });

  // Its speed (per relabelling, against rebuilding the data and recomputing the F) is measured by
  // `npm run bench:stats`, not here: a wall-clock bound in a unit test fails on a busy machine and proves little.
  it("runs the paper's default 10,000 permutations on 84 participants x 2 observers x 8 stages", () => {
    const y = randomCube(new SeededRandom(10), 84, 2, 8, 0.05);
    const r = permutationRepeatedMeasures(y);
    expect(r.permutations).toBe(10_000);
    expect(r.a.F).toBeCloseTo(repeatedMeasuresF(y, 84, 2, 8).a.F, 9);
    expect(r.a.p).toBeGreaterThan(0);
  });
});

describe("permutation tests", () => {
  // Exact reference for the within-subject 2-level factor: relabelling within a subject flips the sign of that
  // subject's difference, and F = t^2, so enumerate all 2^S sign vectors of the paired t statistic.
  function exactSignFlipP(d: number[]): number {
    const observed = pairedT2(d);
    let extreme = 0;
    const total = 2 ** d.length;
    for (let mask = 0; mask < total; mask++) {
      const flipped = d.map((x, i) => ((mask >> i) & 1 ? -x : x));
      if (pairedT2(flipped) >= observed - 1e-10 * observed) extreme++;
    }
    return extreme / total;
  }

  it("enumerates the model effect exactly on a small case, and Monte Carlo agrees within sampling error", () => {
    const y = randomCube(new SeededRandom(3), 7, 2, 3, 0.25);
    const d = y.map((s) => s[1].reduce((a, v) => a + v, 0) / 3 - s[0].reduce((a, v) => a + v, 0) / 3);
    const reference = exactSignFlipP(d);

    const exact = permutationRepeatedMeasures(y, { permutations: 2000, exactLimit: 128, seed: 0 });
    expect(exact.a.exact).toBe(true);
    expect(exact.a.permutations).toBe(128);
    expect(exact.a.p).toBeCloseTo(reference, 12);

    const sampled = permutationRepeatedMeasures(y, { permutations: 20000, exactLimit: 0, seed: 11 });
    expect(sampled.a.exact).toBe(false);
    const sd = Math.sqrt((reference * (1 - reference)) / 20000);
    expect(Math.abs(sampled.a.p - reference)).toBeLessThan(4 * sd + 1e-4);
  });

  it("is reproducible for a fixed seed and calibrated under the null", () => {
    const rng = new SeededRandom(4);
    const y = randomCube(rng, 8, 2, 4, 0);
    const first = permutationRepeatedMeasures(y, { permutations: 500, seed: 9 });
    const again = permutationRepeatedMeasures(y, { permutations: 500, seed: 9 });
    expect(again).toEqual(first);
    expect(first.seed).toBe(9);

    // Under the null, p-values are (nearly) uniform: about 5% of datasets fall below 0.05.
    let below = 0;
    const datasets = 200;
    for (let k = 0; k < datasets; k++) {
      const r = permutationRepeatedMeasures(randomCube(rng, 6, 2, 2, 0), { permutations: 99, seed: k });
      if (r.a.p <= 0.05) below++;
    }
    // Binomial(200, 0.05): mean 10, sd 3.1.
    expect(below).toBeGreaterThanOrEqual(2);
    expect(below).toBeLessThanOrEqual(20);
  });

  it("detects a strong model x stage interaction", () => {
    const y = randomCube(new SeededRandom(5), 12, 2, 4, 1.5);
    const r = permutationRepeatedMeasures(y, { permutations: 999, seed: 1 });
    expect(r.ab.p).toBeLessThan(0.01);
    expect(r.a.p).toBeLessThan(0.01);
  });

  it("computes the exact group-label p-value of a mixed design by enumeration", () => {
    const rng = new SeededRandom(6);
    const groups = [
      Array.from({ length: 4 }, () => [rng.normal() + 1, rng.normal()]),
      Array.from({ length: 5 }, () => [rng.normal(), rng.normal()]),
    ];
    const means = groups.flat().map((r) => (r[0] + r[1]) / 2);
    const observed = pooledT2(means.slice(0, 4), means.slice(4));
    // Independent enumeration of all C(9, 4) = 126 splits.
    let extreme = 0;
    let total = 0;
    for (let mask = 0; mask < 1 << 9; mask++) {
      let bits = 0;
      for (let i = 0; i < 9; i++) bits += (mask >> i) & 1;
      if (bits !== 4) continue;
      total++;
      const x = means.filter((_, i) => (mask >> i) & 1);
      const z = means.filter((_, i) => !((mask >> i) & 1));
      if (pooledT2(x, z) >= observed - 1e-10 * observed) extreme++;
    }
    const r = permutationMixed(groups, { permutations: 1000, seed: 0 });
    expect(total).toBe(126);
    expect(r.a.exact).toBe(true);
    expect(r.a.permutations).toBe(126);
    expect(r.a.p).toBeCloseTo(extreme / total, 12);
  });

  it("rejects ragged data with a message naming the cell", () => {
    expect(() => permutationRepeatedMeasures([[[1, 2], [3]], [[1, 2], [3, 4]]])).toThrow(/subject 0, level 1 has 1 stages, expected 2/);
    expect(() => permutationRepeatedMeasures([[[1, 2], [3, Number.NaN]], [[1, 2], [3, 4]]])).toThrow(/expected a finite number, got NaN/);
  });
});
