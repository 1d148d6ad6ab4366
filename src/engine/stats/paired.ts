import { SeededRandom } from "../random.js";
import { bootstrapMean, DEFAULT_BOOTSTRAP, type BootstrapResult } from "./bootstrap.js";
import { DEFAULT_PERMUTATIONS } from "./permutation.js";

/**
 * Paired comparison of two conditions measured on the same units (e.g. two models' metamers of the same stimuli):
 * a two-sided sign-flip permutation test of the mean of the per-unit differences, and a bootstrap percentile CI of
 * that mean. Under the null of exchangeable conditions each difference is as likely to have either sign, so the
 * reference distribution flips every sign independently. When 2^n relabellings are at most `exactLimit` they are
 * all enumerated (identity included) and p is exact, as scipy.stats.permutation_test(permutation_type="samples")
 * does; otherwise `permutations` random sign vectors give p = (1 + #{|S*| >= |S|}) / (1 + permutations).
 */

export interface PairedTestOptions {
  permutations?: number;
  /** Bootstrap resamples of the CI (default 1,000). */
  resamples?: number;
  seed?: number;
  /** Enumerate every sign vector when there are at most this many (default: `permutations`). */
  exactLimit?: number;
}

export interface PairedTestResult {
  /** Units (pairs). */
  n: number;
  /** Mean of the differences (condition A minus condition B). */
  meanDifference: number;
  /** Two-sided permutation p-value. */
  p: number;
  /** Sign vectors evaluated (random draws, or 2^n when exact). */
  permutations: number;
  exact: boolean;
  /** Bootstrap percentile CI of the mean difference (resamples over units). */
  ci: BootstrapResult;
  seed: number;
}

/** At least as extreme, with a relative tolerance so that sign vectors equal to the observed one count despite rounding. */
const atLeast = (candidate: number, observed: number) => candidate >= observed - 1e-10 * Math.max(1, observed);

/** 2^n enumeration above this many units is never attempted, whatever exactLimit says (2^30 sums). */
const MAX_EXACT_UNITS = 30;

export function pairedSignFlipTest(differences: ArrayLike<number>, options: PairedTestOptions = {}): PairedTestResult {
  const n = differences.length;
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  const seed = options.seed ?? 0;
  const exactLimit = options.exactLimit ?? permutations;
  if (n < 1) throw new RangeError("paired test: expected at least one difference, got none");
  if (!Number.isInteger(permutations) || permutations < 1) throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  const d = Float64Array.from(differences);
  if (!d.every(Number.isFinite)) throw new RangeError("paired test: every difference must be a finite number");
  let total = 0;
  for (const v of d) total += v;
  const observed = Math.abs(total);
  const ci = bootstrapMean(d, { seed, resamples: options.resamples ?? DEFAULT_BOOTSTRAP.resamples });
  const base = { n, meanDifference: total / n, ci, seed };

  if (n <= MAX_EXACT_UNITS && 2 ** n <= exactLimit) {
    // Every sign vector, as a bit mask: bit i set flips difference i. The sum under mask m is total - 2 * (flipped sum).
    const size = 2 ** n;
    let extreme = 0;
    for (let mask = 0; mask < size; mask++) {
      let flipped = 0;
      for (let i = 0; i < n; i++) if (mask & (1 << i)) flipped += d[i];
      if (atLeast(Math.abs(total - 2 * flipped), observed)) extreme++;
    }
    return { ...base, p: extreme / size, permutations: size, exact: true };
  }
  const rng = new SeededRandom(seed);
  let extreme = 0;
  for (let r = 0; r < permutations; r++) {
    let s = 0;
    // One 32-bit draw gives 32 signs.
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if (i % 32 === 0) bits = rng.nextUint32();
      s += bits & (1 << (i % 32)) ? -d[i] : d[i];
    }
    if (atLeast(Math.abs(s), observed)) extreme++;
  }
  return { ...base, p: (1 + extreme) / (1 + permutations), permutations, exact: false };
}
