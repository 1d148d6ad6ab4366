import { pearson, rank, spearman } from "../stats/correlation.js";

/** The three similarity metrics of docs/science.md §3 between natural (a) and metamer (b) activations. */
export interface Similarity {
  spearman: number;
  pearson: number;
  /** Decibels; +Infinity when b equals a exactly. */
  snr: number;
}

export const METRICS = ["spearman", "pearson", "snr"] as const;
export type Metric = (typeof METRICS)[number];

/**
 * SNR = 10 * log10(||a|| / ||a - b||): 10 * log10 of an amplitude ratio, as the reference code computes it (not 20).
 * Zero-vector rule: when either vector sums to 0 the SNR is 0.
 */
export function snr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`snr: vectors must have the same length, got ${a.length} and ${b.length}`);
  if (sum(a) === 0 || sum(b) === 0) return 0;
  let aa = 0;
  let dd = 0;
  for (let i = 0; i < a.length; i++) {
    aa += a[i] * a[i];
    const d = a[i] - b[i];
    dd += d * d;
  }
  if (dd === 0) return Infinity;
  return 10 * Math.log10(Math.sqrt(aa) / Math.sqrt(dd));
}

export function similarity(natural: ArrayLike<number>, metamer: ArrayLike<number>): Similarity {
  return { spearman: spearman(natural, metamer), pearson: pearson(natural, metamer), snr: snr(natural, metamer) };
}

/**
 * An activation vector prepared for many pairwise comparisons: its ranks are computed once (O(n log n)), so each
 * Spearman against another prepared vector costs O(n).
 */
export interface PreparedActivations {
  values: Float32Array;
  ranks: Float64Array;
  /** The zero-vector rule applies (sum exactly 0). */
  zeroSum: boolean;
}

export function prepareActivations(values: Float32Array): PreparedActivations {
  return { values, ranks: rank(values), zeroSum: sum(values) === 0 };
}

/** Same numbers as similarity(a.values, b.values), reusing the precomputed ranks. */
export function preparedSimilarity(a: PreparedActivations, b: PreparedActivations): Similarity {
  if (a.zeroSum || b.zeroSum) return { spearman: 0, pearson: 0, snr: 0 };
  return { spearman: pearson(a.ranks, b.ranks), pearson: pearson(a.values, b.values), snr: snr(a.values, b.values) };
}

function sum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
