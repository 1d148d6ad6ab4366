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
 * Permutation p-values for the paper's ANOVAs (docs/science.md §4: 10,000 permutations). Each effect has its own
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
  // Compare relabellings with the identity relabelling run through the same arithmetic, so that rounding
  // differences between `statistic` and the reported F cannot flip a tie.
  const identity = Array.from({ length: k }, (_, i) => i);
  const reference = statistic(() => identity);
  const groupSize = factorial(k) ** units;
  if (groupSize <= exactLimit) {
    const perms = allPermutations(k);
    const digits = new Array<number>(units).fill(0);
    let extreme = 0;
    for (let count = 0; count < groupSize; count++) {
      if (atLeast(statistic((u) => perms[digits[u]]), reference)) extreme++;
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
    if (atLeast(statistic((u) => buffers[u]), reference)) extreme++;
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
  const fast = new RepeatedMeasuresStatistics(y, S, A, B);
  const a = testIndependentUnits(observed.a, S, A, (perm) => fast.firstFactorF(perm), rng, opts);
  const b = testIndependentUnits(observed.b, S, B, (perm) => fast.stageF(perm), rng, opts);
  const ab = testIndependentUnits(observed.ab, S * B, A, (perm) => fast.interactionF(perm), rng, opts);
  return { a, b, ab, seed: opts.seed, permutations: opts.permutations };
}

/**
 * The three F statistics of a relabelled repeated-measures design without rebuilding the data. Relabelling within
 * a subject leaves every subject mean (and, for the interaction, every subject x stage mean) unchanged, so each F
 * depends on the relabelling only through a few sums of centred values:
 * - first factor: with d[s,a] = mean_b y - mean_(a,b) y, SS_A = (B/S) sum_a (sum_s d[s, p_s(a)])^2 and
 *   SS_AxS = B sum d^2 - SS_A;
 * - stage: the same with the roles of the two factors swapped;
 * - interaction: with e[s,a,b] = y - mean_a y (centred within each subject x stage cell) and E_a, E_ab, E_as the
 *   sums of the relabelled e over the other indices, SS_A = sum E_a^2 / (SB), SS_AB = sum E_ab^2 / S - SS_A,
 *   SS_AS = sum E_as^2 / B - SS_A, and SS_ABS = sum e^2 - SS_A - SS_AB - SS_AS.
 * Each permutation then costs O(S A) or O(S B) (O(S A B) for the interaction) arithmetic and no allocation.
 * The test suite checks these against repeatedMeasuresF on explicitly relabelled data.
 */
export class RepeatedMeasuresStatistics {
  private readonly d: Float64Array; // S x A
  private readonly dStage: Float64Array; // S x B
  private readonly e: Float64Array; // S x A x B
  private readonly sumD2: number;
  private readonly sumDStage2: number;
  private readonly sumE2: number;
  private readonly sumsA: Float64Array;
  private readonly sumsB: Float64Array;
  private readonly eab: Float64Array;
  private readonly eas: Float64Array;

  constructor(y: RepeatedMeasuresData, private readonly S: number, private readonly A: number, private readonly B: number) {
    this.d = new Float64Array(S * A);
    this.dStage = new Float64Array(S * B);
    this.e = new Float64Array(S * A * B);
    let sumD2 = 0, sumDStage2 = 0, sumE2 = 0;
    for (let s = 0; s < S; s++) {
      let subject = 0;
      for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) subject += y[s][a][b];
      subject /= A * B;
      for (let a = 0; a < A; a++) {
        let m = 0;
        for (let b = 0; b < B; b++) m += y[s][a][b];
        this.d[s * A + a] = m / B - subject;
        sumD2 += this.d[s * A + a] ** 2;
      }
      for (let b = 0; b < B; b++) {
        let m = 0;
        for (let a = 0; a < A; a++) m += y[s][a][b];
        m /= A;
        this.dStage[s * B + b] = m - subject;
        sumDStage2 += (m - subject) ** 2;
        for (let a = 0; a < A; a++) {
          const v = y[s][a][b] - m;
          this.e[(s * A + a) * B + b] = v;
          sumE2 += v * v;
        }
      }
    }
    this.sumD2 = sumD2;
    this.sumDStage2 = sumDStage2;
    this.sumE2 = sumE2;
    this.sumsA = new Float64Array(A);
    this.sumsB = new Float64Array(B);
    this.eab = new Float64Array(A * B);
    this.eas = new Float64Array(A * S);
  }

  /** F of the first factor when subject s's levels are relabelled by perm(s) (new level a takes old level p[a]). */
  firstFactorF(perm: (s: number) => ArrayLike<number>): number {
    const { S, A, B, d, sumsA } = this;
    sumsA.fill(0);
    for (let s = 0; s < S; s++) {
      const p = perm(s);
      for (let a = 0; a < A; a++) sumsA[a] += d[s * A + p[a]];
    }
    let q = 0;
    for (let a = 0; a < A; a++) q += sumsA[a] * sumsA[a];
    const ssA = (B / S) * q;
    return ratio(ssA, A - 1, B * this.sumD2 - ssA, (A - 1) * (S - 1));
  }

  /** F of the stage factor when subject s's stages are relabelled by perm(s). */
  stageF(perm: (s: number) => ArrayLike<number>): number {
    const { S, A, B, dStage, sumsB } = this;
    sumsB.fill(0);
    for (let s = 0; s < S; s++) {
      const p = perm(s);
      for (let b = 0; b < B; b++) sumsB[b] += dStage[s * B + p[b]];
    }
    let q = 0;
    for (let b = 0; b < B; b++) q += sumsB[b] * sumsB[b];
    const ssB = (A / S) * q;
    return ratio(ssB, B - 1, A * this.sumDStage2 - ssB, (B - 1) * (S - 1));
  }

  /** F of the interaction when the first factor is relabelled by perm(s * B + b) in each subject x stage cell. */
  interactionF(perm: (cell: number) => ArrayLike<number>): number {
    const { S, A, B, e, sumsA, eab, eas } = this;
    sumsA.fill(0);
    eab.fill(0);
    eas.fill(0);
    for (let s = 0; s < S; s++) {
      for (let b = 0; b < B; b++) {
        const p = perm(s * B + b);
        for (let a = 0; a < A; a++) {
          const v = e[(s * A + p[a]) * B + b];
          sumsA[a] += v;
          eab[a * B + b] += v;
          eas[a * S + s] += v;
        }
      }
    }
    let qa = 0, qab = 0, qas = 0;
    for (let a = 0; a < A; a++) qa += sumsA[a] * sumsA[a];
    for (let i = 0; i < A * B; i++) qab += eab[i] * eab[i];
    for (let i = 0; i < A * S; i++) qas += eas[i] * eas[i];
    const ssA = qa / (S * B);
    const ssAB = qab / S - ssA;
    const ssAS = qas / B - ssA;
    const ssABS = this.sumE2 - ssA - ssAB - ssAS;
    return ratio(ssAB, (A - 1) * (B - 1), ssABS, (A - 1) * (B - 1) * (S - 1));
  }
}

/** Mean-square ratio with the same conventions as anova.ts (zero error: infinite F, or 0 when there is no effect). */
export function ratio(ssEffect: number, df1: number, ssError: number, df2: number): number {
  if (df1 === 0 || df2 === 0) return Number.NaN;
  const msEffect = Math.max(0, ssEffect) / df1;
  const msError = Math.max(0, ssError) / df2;
  // Cancellation can leave a tiny positive error where the exact value is 0; treat it relative to the effect.
  if (msError <= 1e-12 * Math.max(msEffect, 1e-300)) return msEffect <= 1e-300 ? 0 : Number.POSITIVE_INFINITY;
  return msEffect / msError;
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
