import type { AugmentationSpec } from "./augment.js";
import type { NullDistributionStats } from "./null-distribution.js";
import { MIN_POWERED_NULL_PAIRS } from "./reference-null.js";
import { METRICS, similarity, type Metric, type Similarity } from "./similarity.js";

/**
 * Where a certificate's null came from (docs/science.md §3). REFERENCE: a model-level reference null of a designated
 * reference set (optionally augmented); SYNTHESIS_SET: pairs of the stimulus set the metamer's natural stimulus
 * belongs to (the per-set null).
 */
export interface NullSource {
  kind: "REFERENCE" | "SYNTHESIS_SET";
  /** The ReferenceNull row (REFERENCE only). */
  referenceNullId: string | null;
  setId: string;
  /** The resolved augmentation, or null for none. */
  augmentation: AugmentationSpec | null;
  /** Pairs requested. */
  n: number;
  seed: number;
}

/** One metric's verdict: the authors' rule fails it only when the value is below the null maximum. */
export interface MetricVerdict {
  value: number;
  nullMax: number;
  passed: boolean;
  /**
   * The null maximum sits at the metric's ceiling (rho = 1 with few units, e.g. 10 logits), so no metamer can exceed
   * it: passing there says nothing.
   */
  uninformative: boolean;
}

/**
 * A metamer's validation certificate (docs/science.md §3): it counts only if no metric falls below its null maximum
 * AND the generating model gives the saved, quantised metamer the label it gives the natural stimulus. It records
 * the null's source and size, and says `underpowered` when the null has fewer than MIN_POWERED_NULL_PAIRS pairs or
 * was drawn from the synthesis set itself, and which metrics were `uninformative` (null maximum at the ceiling).
 */
export interface Certificate {
  similarity: Similarity;
  null: { n: number; seed: number; maxima: Similarity; source: NullSource | null };
  metrics: Record<Metric, MetricVerdict>;
  passedNull: boolean;
  /** Metrics whose null maximum is at the metric's ceiling. */
  uninformative: Metric[];
  /** Metrics whose null maximum and metamer value both sit at the ceiling (kept for readers of older certificates). */
  tiedAtCeiling: Metric[];
  underpowered: boolean;
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
  /** Where the null came from; absent: the per-set null of the synthesis set (underpowered by definition). */
  nullSource?: NullSource | null;
  /** The null's pairs come from the set of the metamer's own natural stimulus. */
  fromSynthesisSet?: boolean;
}): Certificate {
  const s = similarity(input.naturalActivations, input.metamerActivations);
  const maxima = input.nullStats.maxima;
  const metrics = {} as Record<Metric, MetricVerdict>;
  for (const m of METRICS) {
    // The authors' rule: fail only below the maximum. Spearman's rho = 1 ties are rounding-prone (average ranks of
    // float activations), so only there a value within CEILING_TOLERANCE of the maximum counts as reaching it.
    const tolerance = m === "spearman" ? CEILING_TOLERANCE : 0;
    metrics[m] = { value: s[m], nullMax: maxima[m], passed: !(s[m] < maxima[m] - tolerance), uninformative: atCeiling(m, maxima[m]) };
  }
  const uninformative = METRICS.filter((m) => metrics[m].uninformative);
  const tiedAtCeiling = uninformative.filter((m) => atCeiling(m, s[m]));
  const passedNull = METRICS.every((m) => metrics[m].passed);
  const passedLabel = input.naturalLabel === input.metamerLabel;
  const source = input.nullSource ?? null;
  const fromSynthesisSet = input.fromSynthesisSet ?? (source === null || source.kind === "SYNTHESIS_SET");
  return {
    similarity: s,
    null: { n: input.nullStats.n, seed: input.nullStats.seed, maxima: { ...input.nullStats.maxima }, source },
    metrics,
    passedNull,
    uninformative,
    tiedAtCeiling,
    underpowered: input.nullStats.n < MIN_POWERED_NULL_PAIRS || fromSynthesisSet,
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

/**
 * A model's decision in its scored label space (the label check and recognition; issue 12 item 5). Without a label map:
 * the class of the largest logit (`classLabels[k]`, or its index when the model has no labels). With one: the authors'
 * force_16_choice (model_metamers_pytorch), which walks the classes from the largest logit down and answers the
 * category of the first class that has one, i.e. the category of the mapped class with the largest logit (first one on
 * ties). Null when no class of the model is mapped (attaching a map refuses that).
 */
export function forcedChoice(logits: ArrayLike<number>, classLabels: readonly string[], classToCategory?: Readonly<Record<string, string>> | null): string | null {
  if (!classToCategory) {
    const k = argmax(logits);
    return classLabels[k] ?? String(k);
  }
  let best = -1;
  for (let i = 0; i < logits.length; i++) {
    if (!Object.hasOwn(classToCategory, classLabels[i] ?? String(i))) continue;
    if (best < 0 || logits[i] > logits[best]) best = i;
  }
  return best < 0 ? null : classToCategory[classLabels[best] ?? String(best)];
}

/** Correlations top out at 1; SNR at +Infinity (two identical stimuli). */
const CEILING: Record<Metric, number> = { spearman: 1, pearson: 1, snr: Infinity };
/** Spearman only: rank correlations of equal rankings come out a few ulps below 1. */
const CEILING_TOLERANCE = 1e-9;
function atCeiling(metric: Metric, value: number): boolean {
  return value >= CEILING[metric] - (metric === "spearman" ? CEILING_TOLERANCE : 0);
}
