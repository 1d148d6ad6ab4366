import { SeededRandom } from "../random.js";
import { type MixedData, mixedF, shapeOfMixed } from "./anova.js";
import { DEFAULT_PERMUTATIONS, type PermutationEffect, type PermutationOptions, type PermutationTestResult, ratio } from "./permutation.js";

/**
 * Humans vs a network as the paper's authors test them (their `run_permutation_significance_test_network_human`,
 * docs/science.md §4): a mixed ANOVA with the observer (human / network) BETWEEN subjects and the stage within, on
 * `groups[observer][participant][stage]` (the network's row of a participant is its score on exactly the stimuli
 * that participant saw; the authors stack the rows and let the observer label be a between-subject factor).
 *
 * Their exchangeability scheme, kept here:
 * - interaction: every relabelling shuffles the observer labels across all rows AND, independently for each row,
 *   the order of its stages; the statistic is the observer x stage F of the relabelled table;
 * - observer (main effect): the observer labels are shuffled across rows (the F depends only on row means);
 * - stage (which the authors do not test; reported for completeness): the stages of each row are shuffled, labels
 *   kept, as in permutationMixed.
 * Each test draws its own `permutations` relabellings from one seeded stream, in that order. The p-value is
 * (1 + #{F* >= F}) / (1 + permutations), never 0 (the authors count #{F* >= F} / permutations and floor it at
 * 1 / permutations: the same ranking, one relabelling apart).
 */
export function permutationObserverMixed(groups: MixedData, options: PermutationOptions = {}): PermutationTestResult {
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  }
  const { G, B } = shapeOfMixed(groups);
  const rows = groups.flat();
  const labels = groups.flatMap((subjects, g) => subjects.map(() => g));
  const N = rows.length;
  const observed = mixedF(rows, labels, G, B);
  const rng = new SeededRandom(seed);

  const shuffled = labels.slice();
  const work = rows.map((row) => row.slice());
  // A row's stage order is a uniform random permutation: with few stages (the paper's have <= 8) one draw from the
  // table of all B! orders replaces B - 1 draws of a shuffle (the loops are dominated by random draws).
  const orders = B <= 8 ? allOrders(B) : null;
  const shuffleStages = () => {
    for (let i = 0; i < N; i++) {
      const row = work[i];
      const source = rows[i];
      if (orders) {
        const order = orders[rng.nextInt(orders.length)];
        for (let j = 0; j < B; j++) row[j] = source[order[j]];
      } else {
        for (let j = 0; j < B; j++) row[j] = source[j];
        rng.shuffle(row);
      }
    }
  };

  const fast = new MixedStatistics(rows, labels, G, B);
  // One stream of relabellings serves the interaction (observer labels shuffled and each row's stages shuffled) and
  // the stage test (the same stage shuffles, labels kept): each test sees valid relabellings of its own scheme.
  let stageExtreme = 0;
  const stageThreshold = threshold(observed.b.F);
  const interaction = countExtreme(observed.ab.F, permutations, () => {
    rng.shuffle(shuffled);
    shuffleStages();
    const f = fast.withinF(work, shuffled);
    if (f.stage >= stageThreshold) stageExtreme++;
    return f.interaction;
  });
  const stage = Number.isFinite(observed.b.F) ? stageExtreme : null;
  for (let i = 0; i < N; i++) shuffled[i] = labels[i];
  const observer = countExtreme(observed.a.F, permutations, () => fast.groupF(rng.shuffle(shuffled)));

  const effect = (test: typeof observed.a, extreme: number | null): PermutationEffect =>
    extreme === null
      ? { ...test, p: Number.NaN, permutations: 0, exact: false }
      : { ...test, p: (1 + extreme) / (1 + permutations), permutations, exact: false };
  return { a: effect(observed.a, observer), b: effect(observed.b, stage), ab: effect(observed.ab, interaction), seed, permutations };
}

/**
 * The mixed design's F values under relabelling, without rebuilding the data. Shuffling a row's stages keeps its mean,
 * and shuffling observer labels keeps the group sizes, so the within-subject sum of squares SS_within = sum (y - row
 * mean)^2 never changes and SS_error = SS_within - SS_stage - SS_interaction: one pass of additions per relabelling
 * (cell sums), no second pass of squares. The test suite checks it against mixedF.
 */
export class MixedStatistics {
  private readonly N: number;
  private readonly nG: Float64Array;
  private readonly rowSums: Float64Array;
  private readonly ssWithin: number;
  private readonly grand: number;
  private readonly cell: Float64Array;
  private readonly cellKept: Float64Array;
  private readonly stageSum: Float64Array;
  private readonly groupSum: Float64Array;

  constructor(rows: number[][], private readonly labels: ArrayLike<number>, private readonly G: number, private readonly B: number) {
    const N = (this.N = rows.length);
    this.nG = new Float64Array(G);
    this.rowSums = new Float64Array(N);
    let ssWithin = 0, total = 0;
    for (let i = 0; i < N; i++) {
      this.nG[labels[i]]++;
      let sum = 0;
      for (let b = 0; b < B; b++) sum += rows[i][b];
      this.rowSums[i] = sum;
      total += sum;
      const m = sum / B;
      for (let b = 0; b < B; b++) ssWithin += (rows[i][b] - m) ** 2;
    }
    this.ssWithin = ssWithin;
    this.grand = total / (N * B);
    this.cell = new Float64Array(G * B);
    this.cellKept = new Float64Array(G * B);
    this.stageSum = new Float64Array(B);
    this.groupSum = new Float64Array(G);
  }

  /** Interaction F under labels `group`, and stage F under the kept labels, for stage-shuffled rows `work`. */
  withinF(work: number[][], group: ArrayLike<number>): { interaction: number; stage: number } {
    const { N, G, B, nG, cell, cellKept, stageSum, groupSum, rowSums, labels, grand } = this;
    cell.fill(0); cellKept.fill(0); stageSum.fill(0); groupSum.fill(0);
    for (let i = 0; i < N; i++) {
      const g = group[i] * B;
      const k = labels[i] * B;
      const row = work[i];
      groupSum[group[i]] += rowSums[i];
      for (let b = 0; b < B; b++) {
        const v = row[b];
        cell[g + b] += v;
        cellKept[k + b] += v;
        stageSum[b] += v;
      }
    }
    let ssB = 0;
    for (let b = 0; b < B; b++) ssB += (stageSum[b] / N - grand) ** 2;
    ssB *= N;
    const interactionSS = (sums: Float64Array, groupMean: (g: number) => number) => {
      let ss = 0;
      for (let g = 0; g < G; g++) {
        const mg = groupMean(g);
        for (let b = 0; b < B; b++) ss += nG[g] * (sums[g * B + b] / nG[g] - mg - stageSum[b] / N + grand) ** 2;
      }
      return ss;
    };
    const ssGB = interactionSS(cell, (g) => groupSum[g] / (nG[g] * B));
    // Kept labels: group means are the data's own.
    const ssGBKept = interactionSS(cellKept, (g) => {
      let s = 0;
      for (let b = 0; b < B; b++) s += cellKept[g * B + b];
      return s / (nG[g] * B);
    });
    const dfG = G - 1, dfB = B - 1, dfS = N - G;
    return {
      interaction: ratio(ssGB, dfG * dfB, this.ssWithin - ssB - ssGB, dfG * dfB * dfS),
      stage: ratio(ssB, dfB, this.ssWithin - ssB - ssGBKept, dfB * dfS),
    };
  }

  /** The between-group (observer) F under labels `group`: it depends on the rows only through their sums. */
  groupF(group: ArrayLike<number>): number {
    const { N, G, B, nG, groupSum, rowSums, grand } = this;
    groupSum.fill(0);
    for (let i = 0; i < N; i++) groupSum[group[i]] += rowSums[i];
    let ssG = 0, ssS = 0;
    for (let g = 0; g < G; g++) ssG += nG[g] * (groupSum[g] / (nG[g] * B) - grand) ** 2;
    for (let i = 0; i < N; i++) ssS += (rowSums[i] / B - groupSum[group[i]] / (nG[group[i]] * B)) ** 2;
    return ratio(ssG * B, G - 1, ssS * B, N - G);
  }
}


/** Every ordering of 0..k-1 (k! of them). */
function allOrders(k: number): Uint8Array[] {
  if (k <= 1) return [Uint8Array.from({ length: k }, (_, i) => i)];
  const out: Uint8Array[] = [];
  for (const rest of allOrders(k - 1)) {
    for (let pos = 0; pos < k; pos++) out.push(Uint8Array.from([...rest.slice(0, pos), k - 1, ...rest.slice(pos)]));
  }
  return out;
}

/** At least as extreme: a relative tolerance so that a relabelling equal to the data (up to rounding) counts. */
const threshold = (observed: number) => observed - 1e-10 * Math.max(1, Math.abs(observed));

/** How many relabelled statistics reach the observed one (null when the observed F is not finite: no test). */
function countExtreme(observed: number, permutations: number, relabelled: () => number): number | null {
  if (!Number.isFinite(observed)) {
    for (let r = 0; r < permutations; r++) relabelled(); // the stream stays the same for the tests that share it
    return null;
  }
  const limit = threshold(observed);
  let extreme = 0;
  for (let r = 0; r < permutations; r++) if (relabelled() >= limit) extreme++;
  return extreme;
}
