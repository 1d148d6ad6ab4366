import { SeededRandom } from "../random.js";
import { METRICS, prepareActivations, preparedSimilarity, type Metric, type PreparedActivations } from "./similarity.js";

/** Quantile levels kept for plots; the verdict only needs the maximum. */
export const NULL_QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999] as const;
export const DEFAULT_NULL_PAIRS = 10_000;

export interface NullDistributionStats {
  /** Pairs actually measured. */
  n: number;
  seed: number;
  maxima: Record<Metric, number>;
  /** quantiles[metric]["0.99"] = the 99th percentile. */
  quantiles: Record<Metric, Record<string, number>>;
}

/**
 * n random ordered pairs (i, j), i != j, of `count` stimuli, without repetition. Ordered because SNR is not
 * symmetric (a plays the natural stimulus, b the metamer). When n covers every pair, all are returned in order.
 */
export function samplePairs(count: number, n: number, seed: number): Array<[number, number]> {
  if (!Number.isInteger(count) || count < 2) {
    throw new RangeError(`a null distribution needs at least 2 stimuli in the set, got ${count}`);
  }
  const all = count * (count - 1);
  const target = Math.min(n, all);
  const decode = (k: number): [number, number] => {
    const i = Math.floor(k / (count - 1));
    const r = k % (count - 1);
    return [i, r >= i ? r + 1 : r];
  };
  if (target === all) return Array.from({ length: all }, (_, k) => decode(k));
  // Floyd's algorithm: `target` distinct indices of [0, all) in O(target) draws.
  const rng = new SeededRandom(seed);
  const chosen = new Set<number>();
  const order: number[] = [];
  for (let j = all - target; j < all; j++) {
    const t = rng.nextInt(j + 1);
    const pick = chosen.has(t) ? j : t;
    chosen.add(pick);
    order.push(pick);
  }
  return order.map(decode);
}

/**
 * The null distribution of one stage: similarity between the activations of random pairs of distinct natural
 * stimuli. A metamer beats the null when it exceeds the maximum on every metric (docs/science.md §3).
 */
export function nullDistribution(
  activations: ReadonlyArray<Float32Array | PreparedActivations>,
  pairs: ReadonlyArray<readonly [number, number]>,
  seed: number,
): NullDistributionStats {
  const prepared = activations.map((a) => (a instanceof Float32Array ? prepareActivations(a) : a));
  const values: Record<Metric, Float64Array> = {
    spearman: new Float64Array(pairs.length),
    pearson: new Float64Array(pairs.length),
    snr: new Float64Array(pairs.length),
  };
  pairs.forEach(([i, j], k) => {
    const s = preparedSimilarity(prepared[i], prepared[j]);
    for (const metric of METRICS) values[metric][k] = s[metric];
  });
  const maxima = {} as Record<Metric, number>;
  const quantiles = {} as Record<Metric, Record<string, number>>;
  for (const metric of METRICS) {
    const sorted = values[metric].sort();
    maxima[metric] = sorted[sorted.length - 1];
    quantiles[metric] = Object.fromEntries(NULL_QUANTILES.map((q) => [String(q), quantile(sorted, q)]));
  }
  return { n: pairs.length, seed, maxima, quantiles };
}

/** Linear-interpolation quantile of an ascending array (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
