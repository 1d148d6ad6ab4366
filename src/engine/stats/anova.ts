/**
 * F statistics of the two balanced ANOVA designs the paper uses (docs/science.md §4), as plain functions of the data so
 * that the permutation tests can recompute them on every relabelling.
 *
 * Data layouts (all cells present: callers drop participants with a missing cell first):
 * - repeated measures, two within-subject factors: `y[subject][a][b]`
 *   (model x stage on the same participants; observer x stage, where the network observer is scored on exactly the
 *   stimuli each participant saw, so it is paired with that participant).
 * - mixed: `groups[g][subject][b]`, a between-subject factor g (different participants per group) and a
 *   within-subject factor b (stage).
 */

export type RepeatedMeasuresData = number[][][];
export type MixedData = number[][][];

export interface FTest {
  F: number;
  df1: number;
  df2: number;
}

export interface TwoWayF {
  /** Main effect of the first factor (model or observer, or the between-subject group). */
  a: FTest;
  /** Main effect of the second factor (stage). */
  b: FTest;
  /** Interaction. */
  ab: FTest;
}

export function shapeOfRepeated(y: RepeatedMeasuresData): { S: number; A: number; B: number } {
  const S = y.length;
  const A = y[0]?.length ?? 0;
  const B = y[0]?.[0]?.length ?? 0;
  if (S < 2 || A < 2 || B < 1) {
    throw new RangeError(`repeated-measures data needs >= 2 subjects and >= 2 levels of the first factor, got ${S} x ${A} x ${B}`);
  }
  y.forEach((subject, s) => {
    if (subject.length !== A) throw new RangeError(`subject ${s} has ${subject.length} levels of the first factor, expected ${A}`);
    subject.forEach((row, a) => {
      if (row.length !== B) throw new RangeError(`subject ${s}, level ${a} has ${row.length} stages, expected ${B}`);
      row.forEach((v, b) => {
        if (!Number.isFinite(v)) throw new RangeError(`subject ${s}, level ${a}, stage ${b}: expected a finite number, got ${v}`);
      });
    });
  });
  return { S, A, B };
}

/** F tests of a two-way within-subject ANOVA (each effect tested against its own subject-interaction error). */
export function repeatedMeasuresF(y: RepeatedMeasuresData, S: number, A: number, B: number): TwoWayF {
  let grand = 0;
  const mA = new Float64Array(A);
  const mB = new Float64Array(B);
  const mS = new Float64Array(S);
  const mAB = new Float64Array(A * B);
  const mAS = new Float64Array(A * S);
  const mBS = new Float64Array(B * S);
  for (let s = 0; s < S; s++) {
    for (let a = 0; a < A; a++) {
      const row = y[s][a];
      for (let b = 0; b < B; b++) {
        const v = row[b];
        grand += v;
        mA[a] += v;
        mB[b] += v;
        mS[s] += v;
        mAB[a * B + b] += v;
        mAS[a * S + s] += v;
        mBS[b * S + s] += v;
      }
    }
  }
  grand /= S * A * B;
  for (let a = 0; a < A; a++) mA[a] /= S * B;
  for (let b = 0; b < B; b++) mB[b] /= S * A;
  for (let s = 0; s < S; s++) mS[s] /= A * B;
  for (let i = 0; i < A * B; i++) mAB[i] /= S;
  for (let i = 0; i < A * S; i++) mAS[i] /= B;
  for (let i = 0; i < B * S; i++) mBS[i] /= A;

  let ssA = 0, ssB = 0, ssAB = 0, ssAS = 0, ssBS = 0, ssABS = 0;
  for (let a = 0; a < A; a++) ssA += (mA[a] - grand) ** 2;
  ssA *= S * B;
  for (let b = 0; b < B; b++) ssB += (mB[b] - grand) ** 2;
  ssB *= S * A;
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < B; b++) ssAB += (mAB[a * B + b] - mA[a] - mB[b] + grand) ** 2;
  }
  ssAB *= S;
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) ssAS += (mAS[a * S + s] - mA[a] - mS[s] + grand) ** 2;
  }
  ssAS *= B;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) ssBS += (mBS[b * S + s] - mB[b] - mS[s] + grand) ** 2;
  }
  ssBS *= A;
  for (let s = 0; s < S; s++) {
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) {
        const residual =
          y[s][a][b] - mAB[a * B + b] - mAS[a * S + s] - mBS[b * S + s] + mA[a] + mB[b] + mS[s] - grand;
        ssABS += residual ** 2;
      }
    }
  }
  const dfA = A - 1, dfB = B - 1, dfS = S - 1;
  return {
    a: fTest(ssA, dfA, ssAS, dfA * dfS),
    b: fTest(ssB, dfB, ssBS, dfB * dfS),
    ab: fTest(ssAB, dfA * dfB, ssABS, dfA * dfB * dfS),
  };
}

export function shapeOfMixed(groups: MixedData): { G: number; sizes: number[]; B: number } {
  const G = groups.length;
  const B = groups[0]?.[0]?.length ?? 0;
  if (G < 2 || B < 1) throw new RangeError(`mixed data needs >= 2 groups and >= 1 stage, got ${G} groups x ${B} stages`);
  const sizes = groups.map((subjects, g) => {
    if (subjects.length < 1) throw new RangeError(`group ${g} has no subjects`);
    subjects.forEach((row, s) => {
      if (row.length !== B) throw new RangeError(`group ${g}, subject ${s} has ${row.length} stages, expected ${B}`);
      row.forEach((v, b) => {
        if (!Number.isFinite(v)) throw new RangeError(`group ${g}, subject ${s}, stage ${b}: expected a finite number, got ${v}`);
      });
    });
    return subjects.length;
  });
  if (sizes.reduce((x, y) => x + y, 0) <= G) throw new RangeError("mixed data needs more subjects than groups");
  return { G, sizes, B };
}

/**
 * F tests of a mixed ANOVA given subject rows `rows[i][b]` and each subject's group `group[i]` (unequal group sizes
 * allowed). The group effect is tested against subjects-within-groups, stage and interaction against
 * stage x subjects-within-groups.
 */
export function mixedF(rows: number[][], group: ArrayLike<number>, G: number, B: number): TwoWayF {
  const N = rows.length;
  const nG = new Float64Array(G);
  const mG = new Float64Array(G);
  const mB = new Float64Array(B);
  const mGB = new Float64Array(G * B);
  const mS = new Float64Array(N);
  let grand = 0;
  for (let i = 0; i < N; i++) {
    const g = group[i];
    nG[g]++;
    for (let b = 0; b < B; b++) {
      const v = rows[i][b];
      grand += v;
      mG[g] += v;
      mB[b] += v;
      mGB[g * B + b] += v;
      mS[i] += v;
    }
  }
  grand /= N * B;
  for (let g = 0; g < G; g++) {
    mG[g] /= nG[g] * B;
    for (let b = 0; b < B; b++) mGB[g * B + b] /= nG[g];
  }
  for (let b = 0; b < B; b++) mB[b] /= N;
  for (let i = 0; i < N; i++) mS[i] /= B;

  let ssG = 0, ssSwithin = 0, ssB = 0, ssGB = 0, ssError = 0;
  for (let g = 0; g < G; g++) ssG += nG[g] * (mG[g] - grand) ** 2;
  ssG *= B;
  for (let i = 0; i < N; i++) ssSwithin += (mS[i] - mG[group[i]]) ** 2;
  ssSwithin *= B;
  for (let b = 0; b < B; b++) ssB += (mB[b] - grand) ** 2;
  ssB *= N;
  for (let g = 0; g < G; g++) {
    for (let b = 0; b < B; b++) ssGB += nG[g] * (mGB[g * B + b] - mG[g] - mB[b] + grand) ** 2;
  }
  for (let i = 0; i < N; i++) {
    const g = group[i];
    for (let b = 0; b < B; b++) ssError += (rows[i][b] - mGB[g * B + b] - mS[i] + mG[g]) ** 2;
  }
  const dfG = G - 1, dfB = B - 1, dfSwithin = N - G;
  return {
    a: fTest(ssG, dfG, ssSwithin, dfSwithin),
    b: fTest(ssB, dfB, ssError, dfB * dfSwithin),
    ab: fTest(ssGB, dfG * dfB, ssError, dfG * dfB * dfSwithin),
  };
}

function fTest(ssEffect: number, df1: number, ssError: number, df2: number): FTest {
  if (df1 === 0 || df2 === 0) return { F: Number.NaN, df1, df2 };
  const msEffect = ssEffect / df1;
  const msError = ssError / df2;
  // A perfect fit (zero error) with a real effect is infinitely significant; no effect and no error is no evidence.
  const F = msError === 0 ? (msEffect === 0 ? 0 : Number.POSITIVE_INFINITY) : msEffect / msError;
  return { F, df1, df2 };
}
