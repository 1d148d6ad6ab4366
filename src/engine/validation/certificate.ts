import type { NullDistributionStats } from "./null-distribution.js";
import { METRICS, similarity, type Similarity } from "./similarity.js";

/**
 * A metamer's validation certificate (science.md §3): it counts only if it beats the null maximum on all three
 * metrics AND the generating model gives the saved, quantised metamer the label it gives the natural stimulus.
 */
export interface Certificate {
  similarity: Similarity;
  null: { n: number; seed: number; maxima: Similarity };
  passedNull: boolean;
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
  const passedNull = METRICS.every((m) => s[m] > input.nullStats.maxima[m]);
  const passedLabel = input.naturalLabel === input.metamerLabel;
  return {
    similarity: s,
    null: { n: input.nullStats.n, seed: input.nullStats.seed, maxima: { ...input.nullStats.maxima } },
    passedNull,
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
