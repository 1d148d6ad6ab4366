// The statistics that MetricsService runs in the stats worker pool (src/services/stats-pool.ts). Pure functions of
// plain data (numbers, typed arrays) so they cross a worker boundary by structured clone; this module imports only
// the engine, never the store or anything with I/O, because the worker thread loads it on its own.
import {
  bootstrap,
  bootstrapMean,
  DEFAULT_BOOTSTRAP,
  kendallTau,
  mean,
  pairedSignFlipTest,
  pearson,
  percentileSummary,
  permutationMixed,
  permutationObserverMixed,
  permutationRepeatedMeasures,
  SeededRandom,
  spearman,
  type BootstrapResult,
  type PairedTestResult,
  type PermutationTestResult,
} from "../../engine/index.js";

export interface ResampleOptions {
  seed: number;
  resamples: number;
}

export interface CorrelationSummary {
  spearmanRho: number;
  pearsonR: number;
  kendallTau: number;
  /** Bootstrap percentile CI of Spearman's rho over points. */
  ci: BootstrapResult;
}

/** Every task the pool runs: its name, its input and its result. */
export interface StatsTasks {
  bootstrapMean: { input: { values: Float64Array } & ResampleOptions; output: BootstrapResult };
  bootstrapRecognizers: { input: { flags: Uint8Array[] } & ResampleOptions; output: BootstrapResult };
  correlationBootstrap: { input: { human: Float64Array; other: Float64Array } & ResampleOptions; output: CorrelationSummary };
  permutationRepeatedMeasures: { input: { y: number[][][]; permutations: number; seed: number }; output: PermutationTestResult };
  permutationMixed: { input: { groups: number[][][]; permutations: number; seed: number }; output: PermutationTestResult };
  /** Humans vs network, the authors' scheme (src/engine/stats/observer-permutation.ts). */
  permutationObserverMixed: { input: { groups: number[][][]; permutations: number; seed: number }; output: PermutationTestResult };
  /** Sign-flip test and bootstrap CI of paired differences (src/engine/stats/paired.ts). */
  pairedSignFlip: { input: { differences: Float64Array; permutations: number } & ResampleOptions; output: PairedTestResult };
}

export type StatsTaskName = keyof StatsTasks;

export const STATS_TASKS: { [K in StatsTaskName]: (input: StatsTasks[K]["input"]) => StatsTasks[K]["output"] } = {
  bootstrapMean: ({ values, seed, resamples }) => bootstrapMean(values, { seed, resamples }),
  bootstrapRecognizers: ({ flags, seed, resamples }) => bootstrapRecognizers(flags, { seed, resamples }),
  correlationBootstrap: ({ human, other, seed, resamples }) => correlationBootstrap(human, other, { seed, resamples }),
  permutationRepeatedMeasures: ({ y, permutations, seed }) => permutationRepeatedMeasures(y, { permutations, seed }),
  permutationMixed: ({ groups, permutations, seed }) => permutationMixed(groups, { permutations, seed }),
  permutationObserverMixed: ({ groups, permutations, seed }) => permutationObserverMixed(groups, { permutations, seed }),
  pairedSignFlip: ({ differences, permutations, seed, resamples }) => pairedSignFlipTest(differences, { permutations, seed, resamples }),
};

/** Runs one task by name (in the worker, or inline in tests of the tasks themselves). */
export function runStatsTask<K extends StatsTaskName>(name: K, input: StatsTasks[K]["input"]): StatsTasks[K]["output"] {
  const task = STATS_TASKS[name] as (input: StatsTasks[K]["input"]) => StatsTasks[K]["output"];
  if (!task) throw new Error(`unknown statistics task '${String(name)}'`);
  return task(input);
}

/**
 * Mean over recognizers of each one's accuracy, bootstrapped over metamers. When all recognizers judged the same
 * number of metamers (same metamers, same order) one resample of metamer indices serves them all, keeping their
 * correlation; otherwise each recognizer is resampled on its own.
 */
export function bootstrapRecognizers(recognizers: Uint8Array[], options: ResampleOptions): BootstrapResult {
  const lengths = new Set(recognizers.map((flags) => flags.length));
  const accuracy = (flags: Uint8Array, idx: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += flags[idx[i]];
    return s / idx.length;
  };
  if (lengths.size === 1) {
    const n = recognizers[0].length;
    return bootstrap(n, (idx) => mean(recognizers.map((flags) => accuracy(flags, idx))), options);
  }
  // Unequal lengths: resample each recognizer on its own, drawing from one seeded stream in a fixed order.
  const rng = new SeededRandom(options.seed);
  const replicates: number[] = [];
  for (let r = 0; r < options.resamples; r++) {
    replicates.push(
      mean(
        recognizers.map((flags) => {
          let s = 0;
          for (let i = 0; i < flags.length; i++) s += flags[rng.nextInt(flags.length)];
          return s / flags.length;
        }),
      ),
    );
  }
  const estimate = mean(recognizers.map((flags) => accuracy(flags, Uint32Array.from(flags.keys()))));
  return percentileSummary(estimate, replicates, { ...options, level: DEFAULT_BOOTSTRAP.level });
}

/** Spearman, Pearson and Kendall between two score vectors, with a bootstrap CI of Spearman's rho over points. */
export function correlationBootstrap(human: Float64Array, other: Float64Array, options: ResampleOptions): CorrelationSummary {
  const ci = bootstrap(
    human.length,
    (idx) => {
      const h = new Float64Array(idx.length);
      const o = new Float64Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        h[i] = human[idx[i]];
        o[i] = other[idx[i]];
      }
      return spearman(h, o);
    },
    options,
  );
  return { spearmanRho: spearman(human, other), pearsonR: pearson(human, other), kendallTau: kendallTau(human, other), ci };
}
