import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../src/engine/random.js";
import { decodeRendering, renderAudio, renderImage } from "../../../src/engine/index.js";
import { argmax, certify, nullDistribution, samplePairs, similarity, snr } from "../../../src/engine/validation/index.js";
import { pearson, spearman } from "../../../src/engine/stats/correlation.js";

const noise = (n: number, seed: number, mean = 0, std = 1) => new SeededRandom(seed).fillNormal(new Float32Array(n), mean, std) as Float32Array;

describe("SNR", () => {
  it("is 10 log10 of the amplitude ratio ||a|| / ||a - b||", () => {
    const a = Float32Array.from([3, 4]); // ||a|| = 5
    const b = Float32Array.from([3, 4.5]); // ||a - b|| = 0.5
    expect(snr(a, b)).toBeCloseTo(10 * Math.log10(10), 12);
  });
  it("follows the zero-vector rule and is +Infinity for identical vectors", () => {
    expect(snr(Float32Array.from([1, -1]), Float32Array.from([2, 3]))).toBe(0);
    expect(similarity(Float32Array.from([0, 0, 0]), Float32Array.from([1, 2, 3]))).toEqual({ spearman: 0, pearson: 0, snr: 0 });
    expect(snr(Float32Array.from([1, 2]), Float32Array.from([1, 2]))).toBe(Infinity);
  });
});

describe("null distribution", () => {
  it("samples distinct ordered pairs of distinct stimuli, reproducibly from the seed", () => {
    const pairs = samplePairs(50, 1000, 42);
    expect(pairs).toHaveLength(1000);
    expect(new Set(pairs.map(([i, j]) => `${i},${j}`)).size).toBe(1000);
    for (const [i, j] of pairs) {
      expect(i).not.toBe(j);
      expect(Math.max(i, j)).toBeLessThan(50);
    }
    expect(samplePairs(50, 1000, 42)).toEqual(pairs);
    expect(samplePairs(50, 1000, 43)).not.toEqual(pairs);
    // Asking for more than exist gives every ordered pair once.
    expect(samplePairs(4, 10_000, 1)).toHaveLength(12);
    expect(() => samplePairs(1, 10, 1)).toThrow(/at least 2 stimuli/);
  });

  it("keeps the max and quantiles of each metric over the sampled pairs (checked by brute force)", () => {
    const shared = noise(300, 1);
    // Correlated stimuli (shared component + own noise), some with ties (ReLU zeros).
    const acts = Array.from({ length: 12 }, (_, k) => {
      const own = noise(300, 100 + k);
      return Float32Array.from(shared, (v, i) => Math.max(0, v + 0.7 * own[i]));
    });
    const pairs = samplePairs(acts.length, 40, 9);
    const stats = nullDistribution(acts, pairs, 9);
    const brute = pairs.map(([i, j]) => similarity(acts[i], acts[j]));
    expect(stats.n).toBe(40);
    expect(stats.seed).toBe(9);
    for (const metric of ["spearman", "pearson", "snr"] as const) {
      const values = brute.map((s) => s[metric]).sort((x, y) => x - y);
      expect(stats.maxima[metric]).toBeCloseTo(values.at(-1)!, 12);
      // median of 40 values = mean of the 20th and 21st
      expect(stats.quantiles[metric]["0.5"]).toBeCloseTo((values[19] + values[20]) / 2, 12);
    }
    expect(stats.maxima.spearman).toBeGreaterThan(0.3);
  });
});

describe("certificate", () => {
  const nullStats = { n: 100, seed: 0, maxima: { spearman: 0.8, pearson: 0.85, snr: 3 }, quantiles: {} as never };
  const natural = noise(500, 5);
  it("passes when all three metrics beat the null maxima and the labels agree", () => {
    const close = Float32Array.from(natural, (v, i) => v + 0.01 * noise(500, 6)[i]);
    const c = certify({ naturalActivations: natural, metamerActivations: close, nullStats, naturalLabel: "7", metamerLabel: "7" });
    expect(c.similarity.spearman).toBeCloseTo(spearman(natural, close), 12);
    expect(c.similarity.pearson).toBeCloseTo(pearson(natural, close), 12);
    expect(c).toMatchObject({ passedNull: true, passedLabel: true, passed: true, null: { n: 100, seed: 0 } });
  });
  it("fails the null when one metric does not exceed its maximum, and the label check separately", () => {
    const far = Float32Array.from(natural, (v, i) => v + 0.6 * noise(500, 7)[i]); // r ~ 0.86, SNR ~ 2.2 dB
    const c = certify({ naturalActivations: natural, metamerActivations: far, nullStats, naturalLabel: "7", metamerLabel: "1" });
    expect(c.similarity.snr).toBeLessThan(3);
    expect(c).toMatchObject({ passedNull: false, passedLabel: false, passed: false });
  });
  it("counts a tie at the ceiling (null max rho = 1, as with 10 logits) as passing, and only there", () => {
    const logits = Float32Array.from([9, 1, 0.5, 0.2, 0, -0.3, -1, -2, -4, -7]);
    const sameRanks = Float32Array.from(logits, (v, i) => v * 0.9); // same order, scaled
    const ceilingNull = { n: 45, seed: 0, maxima: { spearman: 1, pearson: 0.9, snr: 3 }, quantiles: {} as never };
    const tied = certify({ naturalActivations: logits, metamerActivations: sameRanks, nullStats: ceilingNull, naturalLabel: "0", metamerLabel: "0" });
    expect(tied.similarity.spearman).toBeCloseTo(1, 12);
    expect(tied).toMatchObject({ passedNull: true, tiedAtCeiling: ["spearman"], passed: true });
    // One swapped pair of ranks: below the ceiling, so the strict rule applies again.
    const swapped = Float32Array.from(sameRanks);
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    const notTied = certify({ naturalActivations: logits, metamerActivations: swapped, nullStats: ceilingNull, naturalLabel: "0", metamerLabel: "0" });
    expect(notTied).toMatchObject({ passedNull: false, tiedAtCeiling: [] });
    // Below the ceiling a tie with the null maximum is not enough.
    const atMax = { ...ceilingNull, maxima: { ...ceilingNull.maxima, spearman: tied.similarity.spearman - 1e-6 } };
    expect(certify({ naturalActivations: logits, metamerActivations: sameRanks, nullStats: atMax, naturalLabel: "0", metamerLabel: "0" }).tiedAtCeiling).toEqual([]);
  });
  it("marks a metric uninformative when its null maximum is at the ceiling, whether the metamer ties or falls short", () => {
    const logits = Float32Array.from([9, 1, 0.5, 0.2, 0, -0.3, -1, -2, -4, -7]);
    const sameRanks = Float32Array.from(logits, (v) => v * 0.9);
    const swapped = Float32Array.from(sameRanks);
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    const ceilingNull = { n: 45, seed: 0, maxima: { spearman: 1, pearson: 0.9, snr: 3 }, quantiles: {} as never };
    const judge = (m: Float32Array) => certify({ naturalActivations: logits, metamerActivations: m, nullStats: ceilingNull, naturalLabel: "0", metamerLabel: "0" });
    const tied = judge(sameRanks);
    expect(tied.uninformative).toEqual(["spearman"]);
    expect(tied.metrics.spearman).toMatchObject({ nullMax: 1, passed: true, uninformative: true });
    expect(tied.metrics.pearson).toMatchObject({ passed: true, uninformative: false });
    const short = judge(swapped);
    expect(short.uninformative).toEqual(["spearman"]);
    expect(short.metrics.spearman.passed).toBe(false);
    // Away from the ceiling: informative.
    const informative = certify({ naturalActivations: logits, metamerActivations: sameRanks, nullStats: { ...ceilingNull, maxima: { ...ceilingNull.maxima, spearman: 0.95 } }, naturalLabel: "0", metamerLabel: "0" });
    expect(informative.uninformative).toEqual([]);
  });

  it("fails a metric only below its null maximum (the authors' rule), with the ceiling tolerance for Spearman only", () => {
    const a = noise(200, 21);
    const b = Float32Array.from(a, (v, i) => v + 0.3 * noise(200, 22)[i]);
    const s = certify({ naturalActivations: a, metamerActivations: b, nullStats, naturalLabel: "1", metamerLabel: "1" }).similarity;
    const exact = { ...nullStats, maxima: { spearman: s.spearman, pearson: s.pearson, snr: s.snr } };
    const equal = certify({ naturalActivations: a, metamerActivations: b, nullStats: exact, naturalLabel: "1", metamerLabel: "1" });
    expect(equal.passedNull).toBe(true);
    const above = (d: Partial<Record<"spearman" | "pearson" | "snr", number>>) =>
      certify({ naturalActivations: a, metamerActivations: b, nullStats: { ...exact, maxima: { ...exact.maxima, ...d } }, naturalLabel: "1", metamerLabel: "1" }).metrics;
    expect(above({ spearman: s.spearman + 1e-11 }).spearman.passed).toBe(true); // within Spearman's tolerance
    expect(above({ pearson: s.pearson + 1e-11 }).pearson.passed).toBe(false); // no tolerance for Pearson
    expect(above({ snr: s.snr + 1e-11 }).snr.passed).toBe(false);
  });

  it("says underpowered for nulls under 10,000 pairs or drawn from the synthesis set, and records the source", () => {
    const a = noise(100, 31);
    const source = { kind: "REFERENCE" as const, referenceNullId: "r1", setId: "train", augmentation: null, n: 100_000, seed: 4 };
    const judge = (n: number, extra: object) =>
      certify({ naturalActivations: a, metamerActivations: a, nullStats: { ...nullStats, n }, naturalLabel: "1", metamerLabel: "1", ...extra });
    expect(judge(100_000, { nullSource: source, fromSynthesisSet: false })).toMatchObject({ underpowered: false, null: { n: 100_000, source } });
    expect(judge(9_999, { nullSource: source, fromSynthesisSet: false }).underpowered).toBe(true);
    expect(judge(100_000, { nullSource: source, fromSynthesisSet: true }).underpowered).toBe(true);
    // The per-set null (no source given) is drawn from the synthesis set by definition.
    expect(judge(100_000, {})).toMatchObject({ underpowered: true, null: { source: null } });
  });

  it("argmax takes the first maximum", () => {
    expect(argmax([0.1, 0.9, 0.9, -1])).toBe(1);
  });
});

describe("renderings", () => {
  it("saves images as 8-bit PNG rounded to the nearest level and decodes the same values back", async () => {
    const x = Float32Array.from(noise(3 * 8 * 5, 11, 0.5, 0.3), (v) => Math.min(1, Math.max(0, v)));
    const r = await renderImage(x, [1, 3, 8, 5], [0, 1]);
    expect(r.contentType).toBe("image/png");
    expect(Buffer.from(r.bytes.subarray(1, 4)).toString()).toBe("PNG");
    for (let i = 0; i < x.length; i++) expect(Math.abs(r.decoded[i] - x[i])).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
    expect(Array.from(await decodeRendering(r.bytes, r.contentType, [0, 1]))).toEqual(Array.from(r.decoded));
    const grey = await renderImage(x.subarray(0, 40), [1, 1, 8, 5], [0, 1]);
    expect(Array.from(await decodeRendering(grey.bytes, grey.contentType, [0, 1]))).toEqual(Array.from(grey.decoded));
  });
  it("saves audio as 32-bit float WAV without changing the samples", async () => {
    const x = noise(1000, 12, 0, 0.1);
    const r = renderAudio(x, 20_000);
    expect(Buffer.from(r.bytes.subarray(0, 4)).toString()).toBe("RIFF");
    expect(Array.from(r.decoded)).toEqual(Array.from(x));
    expect(Array.from(await decodeRendering(r.bytes, r.contentType, [-1, 1]))).toEqual(Array.from(x));
  });
});
