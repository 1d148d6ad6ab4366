// The stored science objects (Metamer.certificate, .config, .history; SynthesisBatch.config: JSON columns) as typed
// views for the API (issue 13 item 4). Pure functions of the stored JSON; older rows that lack newer fields get what
// those fields meant then (a certificate without a source was judged against its synthesis set's own pairs).

export type MetricName = "spearman" | "pearson" | "snr";
const METRIC_NAMES: MetricName[] = ["spearman", "pearson", "snr"];

/** Metric values; SNR null when infinite (GraphQL floats are finite; two identical stimuli give +Infinity). */
export interface MetricValuesView {
  spearman: number;
  pearson: number;
  snr: number | null;
}

export interface MetricVerdictView {
  metric: MetricName;
  value: number | null;
  nullMax: number | null;
  passed: boolean;
  uninformative: boolean;
}

export interface AugmentationView {
  cropMinScale: number | null;
  flip: boolean;
  jitter: number;
  noiseSnrDb: { min: number; max: number } | null;
}

export interface NullSourceView {
  kind: "REFERENCE" | "SYNTHESIS_SET";
  referenceNullId: string | null;
  setId: string | null;
  augmentation: AugmentationView | null;
  n: number;
  seed: number;
}

export interface CertificateView {
  similarity: MetricValuesView;
  metrics: MetricVerdictView[];
  /** Pairs measured and the seed of the null the verdict used. */
  nullPairs: number;
  nullSeed: number;
  nullMaxima: MetricValuesView;
  nullSource: NullSourceView;
  passedNull: boolean;
  uninformative: MetricName[];
  underpowered: boolean;
  naturalLabel: string;
  metamerLabel: string;
  passedLabel: boolean;
  passed: boolean;
}

export interface SynthesisConfigView {
  recipe: string;
  rounds: number | null;
  stepsPerRound: number | null;
  initialStep: number | null;
  historyEvery: number | null;
  loss: string | null;
  maxSteps: number | null;
  learningRate: number | null;
  beta1: number | null;
  beta2: number | null;
  epsilon: number | null;
  rangePenalty: number | null;
  stopWindow: number | null;
  stopTolerance: number | null;
  /** The reference null the batch's certificates use; null: each stimulus set's own pairs. */
  nullSource: NullSourceView | null;
  /** A batch of several metamers per target: its seeds (null for one seed: see the batch's or metamer's seed). */
  seeds: number[] | null;
}

export interface HistoryPointView {
  iteration: number;
  loss: number | null;
  gradientNorm: number | null;
  stepSize: number | null;
  /** The entry recorded after the loop: the last iterate's loss and why the loop stopped. */
  final: boolean;
  stopReason: string | null;
}

type Json = Record<string, unknown>;

/** Stored numbers may be strings ("Infinity": json-safe.ts). */
const num = (v: unknown): number | null => {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : Number.NaN;
  return Number.isNaN(n) ? null : n;
};
const finite = (v: unknown): number | null => {
  const n = num(v);
  return n !== null && Number.isFinite(n) ? n : null;
};
const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});

function metricValues(v: unknown): MetricValuesView {
  const o = obj(v);
  return { spearman: num(o.spearman) ?? 0, pearson: num(o.pearson) ?? 0, snr: finite(o.snr) };
}

function augmentationView(v: unknown): AugmentationView | null {
  if (!v || typeof v !== "object") return null;
  const o = v as Json;
  const snr = o.noiseSnrDb ? obj(o.noiseSnrDb) : null;
  return {
    cropMinScale: num(o.cropMinScale),
    flip: o.flip === true,
    jitter: num(o.jitter) ?? 0,
    noiseSnrDb: snr ? { min: num(snr.min) ?? 0, max: num(snr.max) ?? 0 } : null,
  };
}

export function nullSourceView(v: unknown, fallback: { n: number; seed: number }): NullSourceView {
  const o = obj(v);
  if (o.kind !== "REFERENCE" && o.kind !== "SYNTHESIS_SET") {
    return { kind: "SYNTHESIS_SET", referenceNullId: null, setId: null, augmentation: null, n: fallback.n, seed: fallback.seed };
  }
  return {
    kind: o.kind,
    referenceNullId: typeof o.referenceNullId === "string" ? o.referenceNullId : null,
    setId: typeof o.setId === "string" ? o.setId : null,
    augmentation: augmentationView(o.augmentation),
    n: num(o.n) ?? fallback.n,
    seed: num(o.seed) ?? fallback.seed,
  };
}

export function certificateView(stored: Json): CertificateView {
  const nul = obj(stored.null);
  const nullPairs = num(nul.n) ?? 0;
  const nullSeed = num(nul.seed) ?? 0;
  const similarity = obj(stored.similarity);
  const maxima = obj(nul.maxima);
  const perMetric = obj(stored.metrics);
  const legacyUninformative = Array.isArray(stored.tiedAtCeiling) ? (stored.tiedAtCeiling as string[]) : [];
  const uninformative = (Array.isArray(stored.uninformative) ? (stored.uninformative as string[]) : legacyUninformative).filter(
    (m): m is MetricName => METRIC_NAMES.includes(m as MetricName),
  );
  const metrics = METRIC_NAMES.map((metric): MetricVerdictView => {
    const v = obj(perMetric[metric]);
    const value = finite(similarity[metric]);
    const nullMax = finite(maxima[metric]);
    // Older certificates kept no per-metric verdict: value against the maximum, as they were judged.
    const passed = typeof v.passed === "boolean" ? v.passed : (num(similarity[metric]) ?? -Infinity) > (num(maxima[metric]) ?? Infinity) || legacyUninformative.includes(metric);
    return { metric, value, nullMax, passed, uninformative: uninformative.includes(metric) };
  });
  return {
    similarity: metricValues(similarity),
    metrics,
    nullPairs,
    nullSeed,
    nullMaxima: metricValues(maxima),
    nullSource: nullSourceView(nul.source, { n: nullPairs, seed: nullSeed }),
    passedNull: stored.passedNull === true,
    uninformative,
    // Before reference nulls every null was drawn from the synthesis set: underpowered.
    underpowered: typeof stored.underpowered === "boolean" ? stored.underpowered : true,
    naturalLabel: String(stored.naturalLabel ?? ""),
    metamerLabel: String(stored.metamerLabel ?? ""),
    passedLabel: stored.passedLabel === true,
    passed: stored.passed === true,
  };
}

export function synthesisConfigView(stored: Json): SynthesisConfigView {
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    recipe: str(stored.recipe) ?? "FEATHER_2023",
    rounds: num(stored.rounds),
    stepsPerRound: num(stored.stepsPerRound),
    initialStep: num(stored.initialStep),
    historyEvery: num(stored.historyEvery),
    loss: str(stored.loss),
    maxSteps: num(stored.maxSteps),
    learningRate: num(stored.learningRate),
    beta1: num(stored.beta1),
    beta2: num(stored.beta2),
    epsilon: num(stored.epsilon),
    rangePenalty: num(stored.rangePenalty),
    stopWindow: num(stored.stopWindow),
    stopTolerance: num(stored.stopTolerance),
    nullSource: stored.nullSource ? nullSourceView(stored.nullSource, { n: 0, seed: 0 }) : null,
    seeds: Array.isArray(stored.seeds) ? (stored.seeds as unknown[]).map((v) => num(v) ?? 0) : null,
  };
}

export function historyView(stored: unknown[]): HistoryPointView[] {
  return stored.map((entry) => {
    const o = obj(entry);
    return {
      iteration: num(o.iteration) ?? 0,
      loss: finite(o.loss),
      gradientNorm: finite(o.gradientNorm),
      stepSize: finite(o.stepSize),
      final: o.final === true,
      stopReason: typeof o.stopReason === "string" ? o.stopReason : null,
    };
  });
}
