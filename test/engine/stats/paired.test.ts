import { describe, expect, it } from "vitest";
import { bootstrapMean } from "../../../src/engine/stats/bootstrap.js";
import { pairedSignFlipTest } from "../../../src/engine/stats/paired.js";

// References: scipy 1.17.1, scipy.stats.permutation_test((d,), np.mean, permutation_type="samples",
// alternative="two-sided", n_resamples=np.inf): the exact sign-flip distribution (script in the test's comments).
//   a -> 0.04296875 (44 of 1024), b -> 0.25 (hand: +-1+-2+-3 takes 6,4,2,0,0,-2,-4,-6; |S| >= 6 twice of 8),
//   c -> 0.021484375 (88 of 4096)
const CASES = {
  a: { d: [0.2, -0.1, 0.4, 0.3, 0.0, 0.5, -0.2, 0.6, 0.1, 0.35], p: 0.04296875, mean: 0.215 },
  b: { d: [1, 2, 3], p: 0.25, mean: 2 },
  c: { d: [0.4, 0.2, -0.4, 0.6, 0.8, -0.2, 1.0, 0.4, 0.2, 0.6, 0.8, 0.0], p: 0.021484375, mean: 0.3666666666666667 },
};

describe("pairedSignFlipTest", () => {
  it("enumerates every sign vector and matches scipy's exact permutation_test", () => {
    for (const { d, p, mean } of Object.values(CASES)) {
      const r = pairedSignFlipTest(d);
      expect(r.exact).toBe(true);
      expect(r.permutations).toBe(2 ** d.length);
      expect(r.p).toBe(p);
      expect(r.meanDifference).toBeCloseTo(mean, 12);
      expect(r.n).toBe(d.length);
    }
  });

  it("is two-sided: negating every difference keeps p and negates the mean", () => {
    const r = pairedSignFlipTest(CASES.c.d.map((v) => -v));
    expect(r.p).toBe(CASES.c.p);
    expect(r.meanDifference).toBeCloseTo(-CASES.c.mean, 12);
  });

  it("approximates the exact p with random sign vectors, reproducibly per seed", () => {
    const r = pairedSignFlipTest(CASES.c.d, { permutations: 20_000, exactLimit: 0, seed: 3 });
    expect(r.exact).toBe(false);
    expect(r.permutations).toBe(20_000);
    // Monte Carlo SE at p = 0.0215 with 20,000 draws is 0.001.
    expect(Math.abs(r.p - CASES.c.p)).toBeLessThan(0.005);
    expect(pairedSignFlipTest(CASES.c.d, { permutations: 20_000, exactLimit: 0, seed: 3 }).p).toBe(r.p);
    // Never below 1 / (1 + permutations): the observed labelling counts.
    const strong = pairedSignFlipTest(Array.from({ length: 40 }, () => 1), { permutations: 999 });
    expect(strong.p).toBe(1 / 1000);
  });

  it("draws signs for more than 32 units (several 32-bit words per draw)", () => {
    // 40 differences of 1 and -1 in equal number: the observed sum is 0, so every sign vector is as extreme.
    const d = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1));
    expect(pairedSignFlipTest(d, { permutations: 500 }).p).toBe(1);
    // A shift of 0.5 on 40 units of spread 1: z about 3, p well below 0.05 but above 1 / (1 + draws).
    const shifted = d.map((v) => v + 0.5);
    const r = pairedSignFlipTest(shifted, { permutations: 5000, seed: 1 });
    expect(r.p).toBeLessThan(0.01);
    expect(r.p).toBeGreaterThan(1 / 5001);
  });

  it("gives the bootstrap percentile CI of the mean difference with the same seed", () => {
    const r = pairedSignFlipTest(CASES.a.d, { seed: 7, resamples: 2000 });
    const ref = bootstrapMean(CASES.a.d, { seed: 7, resamples: 2000 });
    expect(r.ci).toEqual(ref);
    expect(r.ci.low).toBeLessThan(r.meanDifference);
    expect(r.ci.high).toBeGreaterThan(r.meanDifference);
  });

  it("refuses an empty sample and non-finite differences", () => {
    expect(() => pairedSignFlipTest([])).toThrow(/at least one difference/);
    expect(() => pairedSignFlipTest([1, Number.NaN])).toThrow(/finite/);
    expect(() => pairedSignFlipTest([1], { permutations: 0 })).toThrow(/positive integer/);
  });
});
