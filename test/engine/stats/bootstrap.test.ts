import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../src/engine/random.js";
import { bootstrap, bootstrapMean } from "../../../src/engine/stats/bootstrap.js";
import { mean, quantileSorted, sampleStd, sem } from "../../../src/engine/stats/descriptive.js";

describe("descriptive statistics", () => {
  it("match numpy conventions", () => {
    // numpy: np.std([2,4,4,4,5,5,7,9], ddof=1) = 2.138089935299395; np.quantile(..., 0.3) = 4.0 (linear)
    const v = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(v)).toBe(5);
    expect(sampleStd(v)).toBeCloseTo(2.138089935299395, 12);
    expect(sem(v)).toBeCloseTo(2.138089935299395 / Math.sqrt(8), 12);
    expect(quantileSorted(v, 0.3)).toBeCloseTo(4, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
  });
});

describe("bootstrap", () => {
  it("gives the standard error of the mean of a known distribution", () => {
    // N(3, 2^2), n = 400: the bootstrap SE of the mean estimates sigma / sqrt(n) = 0.1.
    const rng = new SeededRandom(21);
    const sample = Array.from({ length: 400 }, () => 3 + 2 * rng.normal());
    const r = bootstrapMean(sample, { resamples: 2000, seed: 1 });
    expect(r.estimate).toBeCloseTo(mean(sample), 12);
    expect(r.se).toBeGreaterThan(0.09);
    expect(r.se).toBeLessThan(0.11);
    // The percentile interval of a near-normal bootstrap distribution is about estimate +/- 1.96 SE.
    expect(r.low).toBeCloseTo(r.estimate - 1.96 * r.se, 1);
    expect(r.high).toBeCloseTo(r.estimate + 1.96 * r.se, 1);
    expect([r.resamples, r.seed, r.level]).toEqual([2000, 1, 0.95]);
  });

  it("covers the true mean about 95% of the time", () => {
    const rng = new SeededRandom(22);
    const trials = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      // Bernoulli(0.3) flags, like per-metamer correct/incorrect.
      const flags = Array.from({ length: 120 }, () => (rng.next() < 0.3 ? 1 : 0));
      const r = bootstrapMean(flags, { resamples: 400, seed: t });
      if (r.low <= 0.3 && 0.3 <= r.high) covered++;
    }
    // Binomial(200, ~0.95): mean 190, sd ~3.1; the percentile bootstrap undercovers slightly at this n.
    expect(covered).toBeGreaterThanOrEqual(176);
    expect(covered).toBeLessThanOrEqual(199);
  });

  it("is reproducible for a seed and changes with it", () => {
    const values = Array.from({ length: 30 }, (_, i) => Math.sin(i) ** 2);
    expect(bootstrapMean(values, { seed: 5 })).toEqual(bootstrapMean(values, { seed: 5 }));
    expect(bootstrapMean(values, { seed: 5 }).se).not.toBe(bootstrapMean(values, { seed: 6 }).se);
  });

  it("bootstraps statistics of paired units (resampling whole points)", () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const y = x.map((v) => 2 * v);
    // Every resample of an exact linear relation keeps slope 2 (or is degenerate, and is dropped).
    const r = bootstrap(x.length, (idx) => {
      let sx = 0, sy = 0;
      for (const i of idx) { sx += x[i]; sy += y[i]; }
      return sy / sx;
    }, { resamples: 200 });
    expect(r.low).toBeCloseTo(2, 12);
    expect(r.high).toBeCloseTo(2, 12);
  });

  it("rejects bad options", () => {
    expect(() => bootstrapMean([1, 2], { resamples: 1 })).toThrow(/resamples must be an integer >= 2, got 1/);
    expect(() => bootstrapMean([], {})).toThrow(/at least one unit, got 0/);
    expect(() => bootstrapMean([1, 2], { level: 1.5 })).toThrow(/level must be in \(0, 1\), got 1.5/);
  });
});
