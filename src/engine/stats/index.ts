/** Statistics for validation and recognizability: correlations, bootstrap, permutation ANOVAs. All seeded. */
export { argsort, kendallTau, pearson, rank, spearman } from "./correlation.js";
export { mean, quantileSorted, sampleStd, sem } from "./descriptive.js";
export { bootstrap, bootstrapMean, percentileSummary, DEFAULT_BOOTSTRAP, type BootstrapOptions, type BootstrapResult } from "./bootstrap.js";
export { mixedF, repeatedMeasuresF, type FTest, type TwoWayF } from "./anova.js";
export {
  DEFAULT_PERMUTATIONS,
  permutationMixed,
  permutationRepeatedMeasures,
  type PermutationEffect,
  type PermutationOptions,
  type PermutationTestResult,
} from "./permutation.js";
export { permutationObserverMixed } from "./observer-permutation.js";
export { pairedSignFlipTest, type PairedTestOptions, type PairedTestResult } from "./paired.js";
