// npm run bench:stats — the speed of the statistics that unit tests used to time (test/engine/stats), each as a ratio
// to a baseline measured in the same run on the same data, so the figure means the same on a fast and a slow machine:
//   1. Spearman + Kendall tau on 10^6 ReLU-like float32 activations vs one native sort of the same 10^6 numbers
//      (both O(n log n); an accidental O(n^2) shows as a ratio in the thousands).
//   2. The repeated-measures permutation ANOVA (84 participants x 2 observers x 8 stages, the paper's 10,000
//      permutations) per permutation vs the plain reference: rebuilding the permuted data and recomputing the F.
// Median of BENCH_ROUNDS interleaved rounds (default 3).
import { SeededRandom } from "../src/engine/random.js";
import { repeatedMeasuresF } from "../src/engine/stats/anova.js";
import { kendallTau, spearman } from "../src/engine/stats/correlation.js";
import { permutationRepeatedMeasures } from "../src/engine/stats/permutation.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. Correlations at 10^6.
const n = 1_000_000;
const rng = new SeededRandom(7);
const a = new Float32Array(n);
const b = new Float32Array(n);
for (let i = 0; i < n; i++) {
  a[i] = Math.max(0, rng.normal());
  b[i] = Math.max(0, a[i] + 0.3 * rng.normal());
}
const corr: number[] = [];
const sort: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  corr.push(time(() => [spearman(a, b), kendallTau(a, b)]));
  sort.push(time(() => Float64Array.from(a).sort()));
}
const corrMs = median(corr);
const sortMs = median(sort);
console.log(`spearman + kendall, n = 10^6: ${corrMs.toFixed(0)} ms; native sort of the same n: ${sortMs.toFixed(0)} ms; ratio ${(corrMs / sortMs).toFixed(1)}`);

// 2. Permutation ANOVA, 84 x 2 x 8.
const [S, A, B] = [84, 2, 8];
const cubeRng = new SeededRandom(10);
const y = Array.from({ length: S }, () => {
  const subject = cubeRng.normal();
  return Array.from({ length: A }, (_, i) => Array.from({ length: B }, (_, j) => subject + 0.05 * i * (j + 1) + cubeRng.normal()));
});
const PERMUTATIONS = 10_000;
const REFERENCE_PERMUTATIONS = 500;
const fast: number[] = [];
const reference: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Three effects are tested, each with PERMUTATIONS relabellings.
  fast.push(time(() => permutationRepeatedMeasures(y, { permutations: PERMUTATIONS, seed: r })) / (3 * PERMUTATIONS));
  const shuffleRng = new SeededRandom(r);
  reference.push(
    time(() => {
      for (let k = 0; k < REFERENCE_PERMUTATIONS; k++) {
        // The first factor relabelled within each participant, the data rebuilt, the full F recomputed.
        const permuted = y.map((subject) => shuffleRng.shuffle([0, 1]).map((old) => subject[old].slice()));
        repeatedMeasuresF(permuted, S, A, B);
      }
    }) / REFERENCE_PERMUTATIONS,
  );
}
const fastUs = median(fast) * 1000;
const referenceUs = median(reference) * 1000;
console.log(
  `permutation ANOVA 84x2x8: ${fastUs.toFixed(1)} µs per relabelling (${((fastUs * 3 * PERMUTATIONS) / 1e6).toFixed(2)} s for 3 x 10,000); ` +
    `rebuild-and-recompute reference: ${referenceUs.toFixed(1)} µs; ratio ${(fastUs / referenceUs).toFixed(2)}`,
);
