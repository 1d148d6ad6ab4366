import { describe, expect, it } from "vitest";
import { EngineError } from "../../../src/engine/errors.js";
import { SeededRandom } from "../../../src/engine/random.js";
import { augment, resolveAugmentation } from "../../../src/engine/validation/augment.js";
import { nullDistribution, samplePairs } from "../../../src/engine/validation/null-distribution.js";
import { prepareActivations, preparedSimilarity, similarity } from "../../../src/engine/validation/similarity.js";
import { referenceNull, referencePairCount, referencePools } from "../../../src/engine/validation/reference-null.js";

/** A 1x1xHxW image with a bright square in the top-left quadrant (asymmetric, so a flip or crop shows). */
function squareImage(H = 8, W = 8): Float32Array {
  const x = new Float32Array(H * W);
  for (let y = 1; y < H / 2; y++) for (let xx = 1; xx < W / 2; xx++) x[y * W + xx] = 1;
  return x;
}

describe("augmentations of reference stimuli", () => {
  it("resolves nothing to null, and names every problem and the modality mismatch", () => {
    expect(resolveAugmentation(null, "IMAGE")).toBeNull();
    expect(resolveAugmentation({ flip: false, jitter: 0 }, "IMAGE")).toBeNull();
    expect(resolveAugmentation({ cropMinScale: 0.5, flip: true, jitter: 0.1 }, "IMAGE")).toEqual({ cropMinScale: 0.5, flip: true, jitter: 0.1, noiseSnrDb: null });
    let error: unknown;
    try {
      resolveAugmentation({ cropMinScale: 1.5, jitter: 0.9 }, "IMAGE");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).message).toMatch(/cropMinScale: expected a number in \(0, 1\], got 1.5; jitter: expected a number from 0 to 0.5, got 0.9/);
    expect(() => resolveAugmentation({ flip: true }, "AUDIO")).toThrow(/flip: image augmentations, but the model takes AUDIO/);
    expect(() => resolveAugmentation({ noiseSnrDb: { min: 10, max: 30 } }, "IMAGE")).toThrow(/noiseSnrDb: an audio augmentation, but the model takes IMAGE/);
    expect(() => resolveAugmentation({ noiseSnrDb: { min: 30, max: 10 } }, "AUDIO")).toThrow(/min <= max/);
  });

  it("flips left-right (about half the draws), crops, jitters within the range, reproducibly by seed", () => {
    const x = squareImage();
    const mirrored = new Float32Array(64);
    for (let y = 0; y < 8; y++) for (let c = 0; c < 8; c++) mirrored[y * 8 + c] = x[y * 8 + 7 - c];
    const flips = { cropMinScale: null, flip: true, jitter: 0, noiseSnrDb: null };
    const rng = new SeededRandom(3);
    let flipped = 0;
    for (let i = 0; i < 200; i++) {
      const v = augment(x, [1, 1, 8, 8], [0, 1], flips, rng);
      const isMirror = v.every((a, k) => a === mirrored[k]);
      expect(isMirror || v.every((a, k) => a === x[k])).toBe(true);
      if (isMirror) flipped++;
    }
    expect(flipped).toBeGreaterThan(70);
    expect(flipped).toBeLessThan(130);

    const all = { cropMinScale: 0.5, flip: true, jitter: 0.2, noiseSnrDb: null };
    const a = augment(x, [1, 1, 8, 8], [0, 1], all, new SeededRandom(9));
    expect(augment(x, [1, 1, 8, 8], [0, 1], all, new SeededRandom(9))).toEqual(a);
    expect(augment(x, [1, 1, 8, 8], [0, 1], all, new SeededRandom(10))).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    // A crop enlarges the square: more bright-ish pixels than the original's 9.
    const crop = augment(x, [1, 1, 8, 8], [0, 1], { cropMinScale: 0.3, flip: false, jitter: 0, noiseSnrDb: null }, new SeededRandom(1));
    expect(crop.filter((v) => v > 0.5).length).not.toBe(9);
    expect(x.filter((v) => v > 0.5).length).toBe(9);
  });

  it("adds noise to a sound at the drawn SNR", () => {
    const rng = new SeededRandom(4);
    const sound = Float32Array.from({ length: 20_000 }, (_, i) => 0.1 * Math.sin(i / 7));
    const noisy = augment(sound, [1, 20_000], [-1, 1], { cropMinScale: null, flip: false, jitter: 0, noiseSnrDb: { min: 20, max: 20 } }, rng);
    let s = 0, d = 0;
    for (let i = 0; i < sound.length; i++) {
      s += sound[i] ** 2;
      d += (noisy[i] - sound[i]) ** 2;
    }
    expect(10 * Math.log10(s / d)).toBeCloseTo(20, 0);
  });
});

describe("prepared similarity (the nulls' fast path)", () => {
  it("gives the numbers similarity() gives, ties, dead units and identical vectors included", () => {
    const r = new SeededRandom(1);
    for (let k = 0; k < 20; k++) {
      // ReLU-like activations: many exact zeros, so ranks have ties.
      const a = Float32Array.from({ length: 300 }, () => Math.max(0, r.normal()));
      const b = Float32Array.from({ length: 300 }, () => Math.max(0, r.normal() + 0.3));
      const p = preparedSimilarity(prepareActivations(a), prepareActivations(b));
      const s = similarity(a, b);
      expect(p.spearman).toBeCloseTo(s.spearman, 10);
      expect(p.pearson).toBeCloseTo(s.pearson, 10);
      expect(p.snr).toBeCloseTo(s.snr, 10);
    }
    const a = Float32Array.from([3, 1, 2, 0]);
    expect(preparedSimilarity(prepareActivations(a), prepareActivations(a.slice()))).toEqual({ spearman: 1, pearson: 1, snr: Infinity });
    expect(preparedSimilarity(prepareActivations(a), prepareActivations(new Float32Array(4)))).toEqual({ spearman: 0, pearson: 0, snr: 0 });
  });
});

describe("reference nulls, streamed in pools", () => {
  // Activation vectors of 6 units per stimulus, distinct per stimulus (seeded), at two stages.
  const bank = Array.from({ length: 40 }, (_, i) => {
    const r = new SeededRandom(100 + i);
    return Float32Array.from({ length: 6 }, () => r.normal());
  });
  const stages = ["a", "b"];
  const activations = async (source: number) => ({ a: bank[source], b: bank[source].map((v) => v * v) });

  it("without augmentation and a set that fits one pool, measures every pair once, as the per-set null does", async () => {
    const set = bank.slice(0, 12);
    const all = samplePairs(12, 1_000, 0);
    expect(all).toHaveLength(132);
    const legacy = nullDistribution(set, all, 0);
    const streamed = await referenceNull({ setSize: 12, n: 1_000, seed: 5, stages, poolSize: 64, augmented: false, activations });
    expect(streamed.a.n).toBe(132);
    expect(streamed.a.maxima.spearman).toBeCloseTo(legacy.maxima.spearman, 6);
    expect(streamed.a.maxima.pearson).toBeCloseTo(legacy.maxima.pearson, 6);
    expect(streamed.a.maxima.snr).toBeCloseTo(legacy.maxima.snr, 5);
    expect(streamed.a.quantiles.pearson["0.5"]).toBeCloseTo(legacy.quantiles.pearson["0.5"], 5);
  });

  it("draws pools of distinct stimuli (never a stimulus against itself) and exactly n pairs, bounded by the pool size", () => {
    const pools = [...referencePools(40, 5_000, 1, 16, true)];
    expect(pools.reduce((a, p) => a + p.pairs.length, 0)).toBe(5_000);
    for (const pool of pools) {
      expect(pool.sources.length).toBe(16);
      expect(new Set(pool.sources).size).toBe(16);
      for (const [i, j] of pool.pairs) {
        expect(i).not.toBe(j);
        expect(i).toBeLessThan(16);
        expect(j).toBeLessThan(16);
      }
    }
    // Every stimulus of the set is drawn somewhere.
    expect(new Set(pools.flatMap((p) => p.sources)).size).toBe(40);
    expect(referencePairCount(40, 5_000, false)).toBe(1_560);
    // Without augmentation a stimulus's activations never change: pools measure more pairs, so each stimulus of a
    // large set is drawn about once (here 2 x 20,000 / 400 = 100 pairs per view, 3,200 pairs a pool of 64).
    const plain = [...referencePools(400, 20_000, 1, 64, false)];
    expect(plain[0].pairs).toHaveLength(3_200);
    expect(plain.reduce((a, p) => a + p.sources.length, 0)).toBe(7 * 64);
    expect(() => referencePairCount(1, 10, true)).toThrow(/at least 2 stimuli/);
    expect(() => referencePairCount(10, 2_000_000, true)).toThrow(/n: expected an integer from 1 to 1000000 pairs, got 2000000/);
  });

  it("augmented: n pairs of fresh views, reproducible by seed, no identical pair at the ceiling", async () => {
    const views: number[] = [];
    const jittered = async (source: number, rng: SeededRandom) => {
      views.push(source);
      const a = bank[source].map((v) => v + 0.01 * rng.normal());
      return { a, b: a.map((v) => v * v) };
    };
    let heartbeats = 0;
    const run = (seed: number) =>
      referenceNull({ setSize: 40, n: 3_000, seed, stages, poolSize: 10, augmented: true, activations: jittered, onPool: async () => void heartbeats++ });
    const first = await run(7);
    expect(first.a.n).toBe(3_000);
    expect(first.b.n).toBe(3_000);
    expect(first.a.maxima.spearman).toBeLessThan(1);
    expect(heartbeats).toBe(Math.ceil(3_000 / 40));
    // One forward pass per view, each view in about 8 pairs.
    expect(views.length).toBe(heartbeats * 10);
    expect(await run(7)).toEqual(first);
    expect((await run(8)).a.maxima.pearson).not.toBe(first.a.maxima.pearson);
  });
});
