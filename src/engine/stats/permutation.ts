import { SeededRandom } from "../random.js";
import {
  type FTest,
  type MixedData,
  type RepeatedMeasuresData,
  type TwoWayF,
  mixedF,
  repeatedMeasuresF,
  shapeOfMixed,
  shapeOfRepeated,
} from "./anova.js";

/**
 * Permutation p-values for the paper's ANOVAs (science.md §4: 10,000 permutations). Each effect has its own
 * exchangeability scheme, applied independently within every participant:
 * - first factor (model / observer), within subjects: the factor's labels are permuted per participant, the same
 *   relabelling for all stages of that participant;
 * - stage: the stage labels are permuted per participant;
 * - interaction: the first factor's labels are permuted per (participant, stage) cell;
 * - between-subject group (mixed design): group labels are permuted across participants.
 * When the whole permutation group is no larger than `exactLimit`, it is enumerated and the p-value is exact
 * (identity included); otherwise `permutations` random relabellings give p = (1 + #{F* >= F}) / (1 + permutations).
 */

export interface PermutationOptions {
  permutations?: number;
  seed?: number;
  /** Enumerate every relabelling when there are at most this many (default: `permutations`). */
  exactLimit?: number;
}

export interface PermutationEffect extends FTest {
  p: number;
  /** Relabellings evaluated (random draws, or the size of the enumerated group). */
  permutations: number;
  exact: boolean;
}

export interface PermutationTestResult {
  a: PermutationEffect;
  b: PermutationEffect;
  ab: PermutationEffect;
  seed: number;
  permutations: number;
}

export const DEFAULT_PERMUTATIONS = 10_000;

function resolve(options: PermutationOptions) {
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  }
  return { permutations, seed, exactLimit: options.exactLimit ?? permutations };
}

/** At least as extreme, with a relative tolerance so that the identity relabelling counts despite rounding. */
const atLeast = (candidate: number, observed: number) =>
  candidate >= observed - 1e-10 * Math.max(1, Math.abs(observed));

/** All permutations of 0..k-1 (only used for small k). */
function allPermutations(k: number): number[][] {
  if (k === 1) return [[0]];
  const out: number[][] = [];
  for (const rest of allPermutations(k - 1)) {
    for (let pos = 0; pos <= rest.length; pos++) out.push([...rest.slice(0, pos), k - 1, ...rest.slice(pos)]);
  }
  return out;
}

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

/** Number of distinct ways to assign group labels of the given sizes (a product of binomials; Infinity if huge). */
function multinomialCount(sizes: number[]): number {
  let total = 1;
  let placed = 0;
  for (const n of sizes) {
    for (let i = 1; i <= n; i++) {
      total = (total * (placed + i)) / i;
      if (total > 1e15) return Number.POSITIVE_INFINITY;
    }
    placed += n;
  }
  return Math.round(total);
}

/**
 * Runs one effect's test where the relabelling is a permutation of `k` labels in each of `units` independent units.
 * `apply(unitPerms)` builds the relabelled statistic from one permutation per unit.
 */
function testIndependentUnits(
  observed: FTest,
  units: number,
  k: number,
  statistic: (perm: (unit: number) => ArrayLike<number>) => number,
  rng: SeededRandom,
  { permutations, exactLimit }: { permutations: number; exactLimit: number },
): PermutationEffect {
  if (!Number.isFinite(observed.F)) return { ...observed, p: Number.NaN, permutations: 0, exact: false };
  const groupSize = factorial(k) ** units;
  if (groupSize <= exactLimit) {
    const perms = allPermutations(k);
    const digits = new Array<number>(units).fill(0);
    let extreme = 0;
    for (let count = 0; count < groupSize; count++) {
      if (atLeast(statistic((u) => perms[digits[u]]), observed.F)) extreme++;
      for (let u = 0; u < units; u++) {
        if (++digits[u] < perms.length) break;
        digits[u] = 0;
      }
    }
    return { ...observed, p: extreme / groupSize, permutations: groupSize, exact: true };
  }
  const buffers = Array.from({ length: units }, () => Array.from({ length: k }, (_, i) => i));
  let extreme = 0;
  for (let r = 0; r < permutations; r++) {
    for (const buffer of buffers) rng.shuffle(buffer);
    if (atLeast(statistic((u) => buffers[u]), observed.F)) extreme++;
  }
  return { ...observed, p: (1 + extreme) / (1 + permutations), permutations, exact: false };
}

/** Repeated-measures (two within-subject factors) permutation ANOVA on `y[subject][a][b]`. */
export function permutationRepeatedMeasures(
  y: RepeatedMeasuresData,
  options: PermutationOptions = {},
): PermutationTestResult {
  const opts = resolve(options);
  const { S, A, B } = shapeOfRepeated(y);
  const observed = repeatedMeasuresF(y, S, A, B);
  const rng = new SeededRandom(opts.seed);
  const work: number[][][] = y.map((subject) => subject.map((row) => row.slice()));

  const a = testIndependentUnits(observed.a, S, A, (perm) => {
    for (let s = 0; s < S; s++) {
      const p = perm(s);
      for (let i = 0; i < A; i++) for (let b = 0; b < B; b++) work[s][i][b] = y[s][p[i]][b];
    }
    return repeatedMeasuresF(work, S, A, B).a.F;
  }, rng, opts);

  const b = testIndependentUnits(observed.b, S, B, (perm) => {
    for (let s = 0; s < S; s++) {
      const p = perm(s);
      for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) work[s][i][j] = y[s][i][p[j]];
    }
    return repeatedMeasuresF(work, S, A, B).b.F;
  }, rng, opts);

  const ab = testIndependentUnits(observed.ab, S * B, A, (perm) => {
    for (let s = 0; s < S; s++) {
      for (let j = 0; j < B; j++) {
        const p = perm(s * B + j);
        for (let i = 0; i < A; i++) work[s][i][j] = y[s][p[i]][j];
      }
    }
    return repeatedMeasuresF(work, S, A, B).ab.F;
  }, rng, opts);

  return { a, b, ab, seed: opts.seed, permutations: opts.permutations };
}

/** Mixed (between-subject group x within-subject stage) permutation ANOVA on `groups[g][subject][b]`. */
export function permutationMixed(groups: MixedData, options: PermutationOptions = {}): PermutationTestResult {
  const opts = resolve(options);
  const { G, sizes, B } = shapeOfMixed(groups);
  const rows = groups.flat();
  const labels = groups.flatMap((subjects, g) => subjects.map(() => g));
  const N = rows.length;
  const observed: TwoWayF = mixedF(rows, labels, G, B);
  const rng = new SeededRandom(opts.seed);

  // Group labels: exchangeable across participants; the same relabelling serves the group and interaction tests.
  const labelTests = (() => {
    const effects = [observed.a, observed.ab];
    const multinomial = multinomialCount(sizes);
    const extreme = [0, 0];
    const count = (assignment: ArrayLike<number>) => {
      const f = mixedF(rows, assignment, G, B);
      if (atLeast(f.a.F, observed.a.F)) extreme[0]++;
      if (atLeast(f.ab.F, observed.ab.F)) extreme[1]++;
    };
    let evaluated: number;
    let exact: boolean;
    if (multinomial <= opts.exactLimit) {
      const assignment = new Int32Array(N);
      const remaining = sizes.slice();
      const place = (i: number) => {
        if (i === N) return count(assignment);
        for (let g = 0; g < G; g++) {
          if (remaining[g] === 0) continue;
          remaining[g]--;
          assignment[i] = g;
          place(i + 1);
          remaining[g]++;
        }
      };
      place(0);
      evaluated = multinomial;
      exact = true;
    } else {
      const shuffled = labels.slice();
      for (let r = 0; r < opts.permutations; r++) count(rng.shuffle(shuffled));
      evaluated = opts.permutations;
      exact = false;
    }
    return effects.map((effect, e): PermutationEffect => {
      if (!Number.isFinite(effect.F)) return { ...effect, p: Number.NaN, permutations: 0, exact: false };
      const p = exact ? extreme[e] / evaluated : (1 + extreme[e]) / (1 + evaluated);
      return { ...effect, p, permutations: evaluated, exact };
    });
  })();

  const work = rows.map((row) => row.slice());
  const b = testIndependentUnits(observed.b, N, B, (perm) => {
    for (let i = 0; i < N; i++) {
      const p = perm(i);
      for (let j = 0; j < B; j++) work[i][j] = rows[i][p[j]];
    }
    return mixedF(work, labels, G, B).b.F;
  }, rng, opts);

  return { a: labelTests[0], b, ab: labelTests[1], seed: opts.seed, permutations: opts.permutations };
}
