import { EngineError } from "../errors.js";
import { SeededRandom } from "../random.js";
import { NULL_QUANTILES, quantile, samplePairs, type NullDistributionStats } from "./null-distribution.js";
import { METRICS, prepareActivations, preparedSimilarity, type Metric, type PreparedActivations, type Similarity } from "./similarity.js";

/**
 * A model-level reference null (docs/science.md §3: the paper draws ~10^6 pairs of augmented training images). The
 * pairs are streamed: views (reference stimuli, augmented or not) are drawn in pools of distinct stimuli, each pool's
 * activations are prepared once, pairs within the pool are measured, and the pool is dropped. Memory is one pool of
 * activations plus one number per pair and metric, whatever n is.
 */
export const DEFAULT_REFERENCE_PAIRS = 100_000;
export const MAX_REFERENCE_PAIRS = 1_000_000;
/** Below this many pairs a null is too small for a referee: every certificate judged against it says `underpowered`. */
export const MIN_POWERED_NULL_PAIRS = 10_000;
/**
 * With augmentation each view enters about this many pairs (fewer forward passes than one view per pair, still many
 * distinct views). Without augmentation a stimulus's activations are the same in every pool, so views are not fresh
 * anyway: each pool then measures enough pairs that every stimulus is drawn about once (2n / set size pairs per view).
 */
export const PAIRS_PER_VIEW = 8;

export interface ReferencePool {
  /** Indices of distinct stimuli of the reference set. */
  sources: number[];
  /** Ordered pairs of positions in `sources`. */
  pairs: Array<[number, number]>;
  /** Seed of this pool's views (augmentation draws), derived from the null's seed. */
  viewSeed: number;
}

/** Pairs a null of `n` requested pairs measures: without augmentation, at most every ordered pair of the set once. */
export function referencePairCount(setSize: number, n: number, augmented: boolean): number {
  if (!Number.isInteger(setSize) || setSize < 2) {
    throw new EngineError("INVALID_ARGUMENT", `a reference null needs at least 2 stimuli in the reference set, got ${setSize}`);
  }
  if (!Number.isInteger(n) || n < 1 || n > MAX_REFERENCE_PAIRS) {
    throw new EngineError("INVALID_ARGUMENT", `n: expected an integer from 1 to ${MAX_REFERENCE_PAIRS} pairs, got ${n}`);
  }
  return augmented ? n : Math.min(n, setSize * (setSize - 1));
}

/**
 * The pools of a reference null, seeded. Each pool holds `min(poolSize, setSize)` distinct stimuli (so no pair compares
 * a stimulus with itself or with another view of itself) and `poolSize * PAIRS_PER_VIEW / 2` pairs (fewer in the last).
 * Without augmentation, a set that fits in one pool gives one pool with every ordered pair or a sample of them without
 * repetition, as the per-set null draws them.
 */
export function* referencePools(setSize: number, total: number, seed: number, poolSize: number, augmented: boolean): Generator<ReferencePool> {
  const P = Math.max(2, Math.min(poolSize, setSize));
  const pairsPerView = augmented ? PAIRS_PER_VIEW : Math.max(PAIRS_PER_VIEW, Math.ceil((2 * total) / setSize));
  const perPool = Math.min(P * (P - 1), Math.ceil((P * pairsPerView) / 2));
  const rng = new SeededRandom(seed);
  const order = Int32Array.from({ length: setSize }, (_, i) => i);
  let remaining = total;
  while (remaining > 0) {
    // Partial Fisher-Yates: the first P entries become a uniform sample without replacement.
    for (let i = 0; i < P; i++) {
      const j = i + rng.nextInt(setSize - i);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    // Without augmentation a pool of the whole set holds every pair there is: measure them all in it, once.
    const m = !augmented && P === setSize ? Math.min(total, P * (P - 1)) : Math.min(perPool, remaining);
    const pairs = samplePairs(P, m, rng.nextUint32());
    yield { sources: Array.from(order.subarray(0, P)), pairs, viewSeed: rng.nextUint32() };
    remaining -= pairs.length;
  }
}

/**
 * Collects the similarities of a streamed null: exact maxima, and the values (float32, one per pair and metric) for
 * the quantiles kept for plots.
 */
export class NullAccumulator {
  private readonly values: Record<Metric, Float32Array>;
  private readonly maxima: Record<Metric, number> = { spearman: -Infinity, pearson: -Infinity, snr: -Infinity };
  private count = 0;

  constructor(capacity: number, private readonly seed: number) {
    this.values = { spearman: new Float32Array(capacity), pearson: new Float32Array(capacity), snr: new Float32Array(capacity) };
  }

  get n(): number {
    return this.count;
  }

  add(s: Similarity): void {
    for (const metric of METRICS) {
      const v = s[metric];
      this.values[metric][this.count] = v;
      if (v > this.maxima[metric]) this.maxima[metric] = v;
    }
    this.count++;
  }

  stats(): NullDistributionStats {
    const quantiles = {} as Record<Metric, Record<string, number>>;
    for (const metric of METRICS) {
      const sorted = this.values[metric].subarray(0, this.count).sort();
      quantiles[metric] = Object.fromEntries(NULL_QUANTILES.map((q) => [String(q), quantile(sorted, q)]));
    }
    return { n: this.count, seed: this.seed, maxima: { ...this.maxima }, quantiles };
  }
}

export interface ReferenceNullRun {
  setSize: number;
  /** Requested pairs (referencePairCount decides how many are measured). */
  n: number;
  seed: number;
  stages: readonly string[];
  /** Distinct stimuli per pool (bounded by the caller's memory budget). */
  poolSize: number;
  augmented: boolean;
  /** The activations at every stage of one view of stimulus `source`; `rng` is the pool's view stream (augmentation). */
  activations: (source: number, rng: SeededRandom) => Promise<Record<string, Float32Array>>;
  /** Called after each pool with the pairs measured so far (heartbeats, cancellation). */
  onPool?: (done: number, total: number) => Promise<void>;
}

/** Runs a reference null at every stage at once (one forward pass per view serves all stages). */
export async function referenceNull(run: ReferenceNullRun): Promise<Record<string, NullDistributionStats>> {
  const total = referencePairCount(run.setSize, run.n, run.augmented);
  const accumulators = Object.fromEntries(run.stages.map((s) => [s, new NullAccumulator(total, run.seed)]));
  let done = 0;
  for (const pool of referencePools(run.setSize, total, run.seed, run.poolSize, run.augmented)) {
    const rng = new SeededRandom(pool.viewSeed);
    const prepared: Record<string, PreparedActivations[]> = Object.fromEntries(run.stages.map((s) => [s, []]));
    for (const source of pool.sources) {
      const out = await run.activations(source, rng);
      for (const stage of run.stages) prepared[stage].push(prepareActivations(out[stage]));
    }
    for (const stage of run.stages) {
      const views = prepared[stage];
      const acc = accumulators[stage];
      for (const [i, j] of pool.pairs) acc.add(preparedSimilarity(views[i], views[j]));
    }
    done += pool.pairs.length;
    await run.onPool?.(done, total);
  }
  return Object.fromEntries(run.stages.map((s) => [s, accumulators[s].stats()]));
}
