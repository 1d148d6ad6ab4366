import { AppError } from "../../errors.js";
import { type Caller, requireReaderContext, statsOwner } from "../authorization.js";
import { checkCount } from "../limits.js";
import type { StatsRunner } from "../stats-pool.js";

/**
 * pairedDifferenceTest: the paired comparison of two conditions on the same units (e.g. two models' metamers of the
 * same stimuli, recognized by the same models), given the per-unit differences A - B. A two-sided sign-flip permutation
 * test of their mean and a bootstrap percentile 95% CI, both seeded, run in the statistics processes. The caller
 * computes the differences (the demo: from per-metamer recognitions of its own batches), so any paired design fits.
 */

export interface PairedDifferenceArgs {
  differences: number[];
  permutations?: number;
  resamples?: number;
  seed?: number;
}

export interface PairedDifferenceResult {
  n: number;
  meanDifference: number;
  p: number;
  permutations: number;
  exact: boolean;
  low: number;
  high: number;
  level: number;
  resamples: number;
  seed: number;
}

export async function pairedDifferenceTest(stats: StatsRunner, caller: Caller, args: PairedDifferenceArgs): Promise<PairedDifferenceResult> {
  const ctx = requireReaderContext(caller);
  checkCount("differences (its length)", args.differences.length, "pairedDifferences");
  const bad = args.differences.findIndex((d) => !Number.isFinite(d));
  if (bad >= 0) throw new AppError("BAD_USER_INPUT", `differences[${bad}]: expected a finite number, got ${args.differences[bad]}`);
  const permutations = checkCount("permutations", args.permutations ?? 10_000, "permutations");
  const resamples = checkCount("resamples", args.resamples ?? 1000, "resamples");
  const seed = checkCount("seed", args.seed ?? 0, "seed");
  const r = await stats.run("pairedSignFlip", { differences: Float64Array.from(args.differences), permutations, resamples, seed }, statsOwner(ctx));
  return {
    n: r.n,
    meanDifference: r.meanDifference,
    p: r.p,
    permutations: r.permutations,
    exact: r.exact,
    low: r.ci.low,
    high: r.ci.high,
    level: r.ci.level,
    resamples: r.ci.resamples,
    seed: r.seed,
  };
}

