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
 * An activation vector prepared for many pairwise comparisons: its ranks are computed once (O(n log n)), and ranks and
 * values are stored centred with their sums of squares, so each pair costs three O(n) passes (the rank and value
 * cross-products, and the squared difference for the SNR) instead of recomputing means and norms per pair.
 */
export interface PreparedActivations {
  values: Float32Array;
  /** Average ranks minus their mean. */
  centredRanks: Float64Array;
  centredValues: Float64Array;
  rankSquares: number;
  valueSquares: number;
  /** Sum of squared values (the SNR's numerator). */
  norm2: number;
  /** The zero-vector rule applies (sum exactly 0). */
  zeroSum: boolean;
}

export function prepareActivations(values: Float32Array): PreparedActivations {
  const ranks = rank(values);
  const n = values.length;
  const total = sum(values);
  const meanRank = (n + 1) / 2;
  const meanValue = total / n;
  const centredRanks = new Float64Array(n);
  const centredValues = new Float64Array(n);
  let rankSquares = 0, valueSquares = 0, norm2 = 0;
  for (let i = 0; i < n; i++) {
    const r = ranks[i] - meanRank;
    const v = values[i] - meanValue;
    centredRanks[i] = r;
    centredValues[i] = v;
    rankSquares += r * r;
    valueSquares += v * v;
    norm2 += values[i] * values[i];
  }
  return { values, centredRanks, centredValues, rankSquares, valueSquares, norm2, zeroSum: total === 0 };
}

/** Same numbers as similarity(a.values, b.values) (up to float rounding), reusing what prepareActivations computed. */
export function preparedSimilarity(a: PreparedActivations, b: PreparedActivations): Similarity {
  if (a.values.length !== b.values.length) throw new RangeError(`similarity: vectors must have the same length, got ${a.values.length} and ${b.values.length}`);
  if (a.zeroSum || b.zeroSum) return { spearman: 0, pearson: 0, snr: 0 };
  const n = a.values.length;
  let rr = 0, vv = 0, dd = 0;
  const ar = a.centredRanks, br = b.centredRanks, av = a.centredValues, bv = b.centredValues, ax = a.values, bx = b.values;
  for (let i = 0; i < n; i++) {
    rr += ar[i] * br[i];
    vv += av[i] * bv[i];
    const d = ax[i] - bx[i];
    dd += d * d;
  }
  const correlation = (cross: number, sa: number, sb: number) => (n < 2 || sa === 0 || sb === 0 ? 0 : Math.max(-1, Math.min(1, cross / Math.sqrt(sa * sb))));
  return {
    spearman: correlation(rr, a.rankSquares, b.rankSquares),
    pearson: correlation(vv, a.valueSquares, b.valueSquares),
    snr: dd === 0 ? Infinity : 10 * Math.log10(Math.sqrt(a.norm2) / Math.sqrt(dd)),
  };
}

function sum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
