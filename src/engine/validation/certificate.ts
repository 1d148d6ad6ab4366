import type { NullDistributionStats } from "./null-distribution.js";
import { METRICS, similarity, type Metric, type Similarity } from "./similarity.js";

/**
 * A metamer's validation certificate (docs/science.md §3): it counts only if it beats the null maximum on all three
 * metrics AND the generating model gives the saved, quantised metamer the label it gives the natural stimulus.
 */
export interface Certificate {
  similarity: Similarity;
  null: { n: number; seed: number; maxima: Similarity };
  passedNull: boolean;
  /** Metrics whose null maximum and metamer value both sit at the metric's ceiling (counted as passing). */
  tiedAtCeiling: Metric[];
  naturalLabel: string;
  metamerLabel: string;
  passedLabel: boolean;
  passed: boolean;
}

export function certify(input: {
  naturalActivations: ArrayLike<number>;
  metamerActivations: ArrayLike<number>;
  nullStats: NullDistributionStats;
  naturalLabel: string;
  /** The label of the saved, quantised rendering (not of the float iterate). */
  metamerLabel: string;
}): Certificate {
  const s = similarity(input.naturalActivations, input.metamerActivations);
  const maxima = input.nullStats.maxima;
  // A null maximum at the metric's ceiling (rho = 1: with few units, e.g. 10 logits, two natural stimuli of one
  // class can rank every unit alike) cannot be exceeded by anything. There a metamer that also reaches the ceiling
  // matches the natural stimulus as well as the metric can tell, so the tie counts; the certificate lists it.
  const tiedAtCeiling = METRICS.filter((m) => atCeiling(m, maxima[m]) && atCeiling(m, s[m]));
  const passedNull = METRICS.every((m) => s[m] > maxima[m] || tiedAtCeiling.includes(m));
  const passedLabel = input.naturalLabel === input.metamerLabel;
  return {
    similarity: s,
    null: { n: input.nullStats.n, seed: input.nullStats.seed, maxima: { ...input.nullStats.maxima } },
    passedNull,
    tiedAtCeiling,
    naturalLabel: input.naturalLabel,
    metamerLabel: input.metamerLabel,
    passedLabel,
    passed: passedNull && passedLabel,
  };
}

/** Index of the largest logit (first one on ties, as argmax in numpy/torch). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Correlations top out at 1 (up to float rounding); SNR has no ceiling. */
const CEILING: Record<Metric, number> = { spearman: 1, pearson: 1, snr: Infinity };
function atCeiling(metric: Metric, value: number): boolean {
  return value >= CEILING[metric] - 1e-9;
}
