/** Descriptive statistics shared by the bootstrap, the permutation tests and the metric services. */

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Sample standard deviation (n - 1 denominator); NaN below two values. */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - m) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/** Standard error of the mean, as the paper reports it for participants: sample std / sqrt(n). */
export function sem(values: ArrayLike<number>): number {
  return sampleStd(values) / Math.sqrt(values.length);
}

/**
 * Quantile with linear interpolation between order statistics (numpy's default "linear" method, R type 7).
 * `sorted` must be ascending.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = q * (n - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
}
