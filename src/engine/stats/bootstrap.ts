import { SeededRandom } from "../random.js";
import { quantileSorted, sampleStd } from "./descriptive.js";

/**
 * Nonparametric bootstrap with percentile confidence intervals. Every draw comes from a SeededRandom, and the
 * seed and resample count travel with the result so that a stored statistic can be reproduced exactly.
 */

export interface BootstrapOptions {
  /** Number of resamples; the paper uses 1,000 for model accuracies. */
  resamples?: number;
  seed?: number;
  /** Two-sided confidence level of the percentile interval. */
  level?: number;
}

export interface BootstrapResult {
  /** The statistic on the original sample. */
  estimate: number;
  /** Standard deviation of the bootstrap distribution (the bootstrap standard error). */
  se: number;
  low: number;
  high: number;
  level: number;
  resamples: number;
  seed: number;
}

export const DEFAULT_BOOTSTRAP = { resamples: 1000, seed: 0, level: 0.95 } as const;

function resolve(options: BootstrapOptions) {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP.resamples;
  const seed = options.seed ?? DEFAULT_BOOTSTRAP.seed;
  const level = options.level ?? DEFAULT_BOOTSTRAP.level;
  if (!Number.isInteger(resamples) || resamples < 2) {
    throw new RangeError(`bootstrap resamples must be an integer >= 2, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap level must be in (0, 1), got ${level}`);
  return { resamples, seed, level };
}

/**
 * Bootstraps any statistic of n exchangeable units: `statistic(indices)` receives a resample of 0..n-1 drawn with
 * replacement (the same buffer is reused between calls, so copy it if you keep it). Non-finite replicates (e.g. a
 * correlation of a constant resample) are dropped from the interval and counted out of `resamples`.
 */
export function bootstrap(
  n: number,
  statistic: (indices: Uint32Array) => number,
  options: BootstrapOptions = {},
): BootstrapResult {
  const { resamples, seed, level } = resolve(options);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`bootstrap needs at least one unit, got ${n}`);
  const identity = Uint32Array.from({ length: n }, (_, i) => i);
  const estimate = statistic(identity);
  const rng = new SeededRandom(seed);
  const indices = new Uint32Array(n);
  const replicates: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = rng.nextInt(n);
    const value = statistic(indices);
    if (Number.isFinite(value)) replicates.push(value);
  }
  return percentileSummary(estimate, replicates, { resamples, seed, level });
}

/** Bootstrap of the mean of `values` (the common case: participants' scores, per-metamer correct flags). */
export function bootstrapMean(values: ArrayLike<number>, options: BootstrapOptions = {}): BootstrapResult {
  return bootstrap(
    values.length,
    (idx) => {
      let s = 0;
      for (let i = 0; i < idx.length; i++) s += values[idx[i]];
      return s / idx.length;
    },
    options,
  );
}

/** Standard error and percentile interval of bootstrap replicates drawn elsewhere (e.g. a custom resampling scheme). */
export function percentileSummary(
  estimate: number,
  replicates: number[],
  { resamples, seed, level }: { resamples: number; seed: number; level: number },
): BootstrapResult {
  const sorted = Float64Array.from(replicates).sort();
  const alpha = (1 - level) / 2;
  return {
    estimate,
    se: sampleStd(sorted),
    low: quantileSorted(sorted, alpha),
    high: quantileSorted(sorted, 1 - alpha),
    level,
    resamples,
    seed,
  };
}

