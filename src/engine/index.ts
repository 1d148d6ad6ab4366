/**
 * The engine's public API, and its one door: code outside src/engine imports the engine only from this file (ESLint
 * enforces it; test/engine/public-api.test.ts pins the names). Pure numerics and codecs: no database, network or
 * process.env. onnxruntime-node is loaded by the first session, not by importing this file.
 *
 * ONNX in/out
 *   decodeOnnxModel(bytes): OnnxModel
 *     EngineError INVALID_ONNX for bytes that are not an ONNX model (random bytes, truncated files, dangling tensors);
 *     EngineError UNSUPPORTED_MODEL for: not exactly one float32 input, integer input, non-static input shape.
 *   model.summary(): ModelSummary { opset, opsets, inputName, inputShape, outputNames, nodeCount }
 *   model.sha256: hex digest of the file's bytes
 *   wrapWithNormalization(bytes, { mean, std }): the model with Sub/Div before its input ((x - mean) / std per channel,
 *     axis 1 of rank >= 3 inputs, one channel otherwise); INVALID_ARGUMENT for a wrong count or a std <= 0.
 *
 * Layer catalogue (for the model registry)
 *   inspectModel(bytes): Promise<{ summary, layers: LayerInfo[] }>
 *     LayerInfo { name (tensor name = stage), shape (declared batch), producerOp, order (topological position),
 *                 differentiable, unsupportedOps: UnsupportedOp[] }
 *     Layers are the floating-point tensors computed from the input (graph outputs included); constants and
 *     Identity-fed weights are not layers. Shapes come from one ORT run with every tensor as an output (cached).
 *   checkDifferentiable(model, stage, { fakeRelu? }): UnsupportedOp[]
 *     EVERY node on the input -> stage path whose op has no rule: { opType, opset, nodeName, reason? }.
 *     Structural check (no ORT run); inspectModel also runs each rule once to catch attribute combinations a
 *     rule does not cover, so prefer LayerInfo.unsupportedOps where available.
 *     An unknown stage name is EngineError INVALID_ARGUMENT.
 *
 * Gradients (stage = a tensor name)
 *   GradientSession.create(modelBytes, stage, { fakeRelu?, loss?: "normalizedL2" | "mse" | "crossEntropy", outputActivations?,
 *                                               outputLogits?, threads? = 2 }): Promise<GradientSession>
 *     Shared and reference-counted per (model sha256, stage, options): call release() once per create().
 *     UNSUPPORTED_MODEL (details.unsupportedOps) when the stage has ops without a rule.
 *   session.run(x, target): Promise<{ loss, grad, activations?, logits? }>
 *     x: Float32Array of prod(inputShape); target: Float32Array of prod(stageShape). Returns fresh arrays.
 *     loss normalizedL2 = ||a - t||_2 / ||t||_2 (the paper's); mse = mean((a - t)^2); crossEntropy (stage = the
 *     logits, target = a one-hot label row per example) = mean over rows of -sum t log softmax(a). grad = d loss / d x.
 *     BAD_USER_INPUT for wrong lengths or (normalizedL2) a zero target.
 *   session.run(x, target, { grad: buffer }) writes the gradient into a caller-owned Float32Array instead.
 *   session.inputShape, session.stageShape, session.logitsShape, session.graphNodeCount;
 *   GradientSession.loadedGraphs() (distinct graphs loaded). The built graph's bytes are not kept.
 *   ForwardSession.create(modelBytes, outputs?: tensor names (default: graph outputs), { threads? })
 *   forward.run(x): Promise<Record<tensorName, Float32Array>>; x may hold several inputs stacked along dim 0
 *     (run one at a time when the model's batch size is fixed; outputs concatenated in the same order).
 *
 * Lower level (tests, CLI, benchmarks): buildGradientGraph(model, probe, stage, options) -> ONNX bytes,
 * probeModel(model) -> static shapes/types, RULES (the VJP tables), NO_GRADIENT_OPS.
 *
 * Untrusted files (the registry): new ModelInspector({ timeoutMs, memoryBytes, staticBudgetBytes, maxModelBytes }).inspect(bytes)
 *   runs inspectModel in a child process with a wall-clock and an address-space limit (UNSUPPORTED_MODEL past them,
 *   the child killed). decodeOnnxModel refuses external data anywhere in the file (UNSUPPORTED_MODEL);
 *   checkStaticMemory(model, budget) refuses models whose statically known tensors exceed the budget.
 *
 * Workers: EngineSessionCache(capacity, threads) keeps the last sessions of a process alive between jobs;
 *   useExecutionProviders(["cuda", "cpu"], { onFallback }) chooses onnxruntime's providers for the sessions made
 *   afterwards; when they cannot create a session (no CUDA) the engine falls back to CPU and calls onFallback once;
 *   activeExecutionProvider() is the provider in use ("cpu" after a fallback).
 *
 * Synthesis (synthesis/): resolveSynthesisConfig(input, { maxTotalSteps }) -> SynthesisConfig (BAD_USER_INPUT listing
 *   every problem), totalSteps, initialNoise (seeded by seed and the stimulus's sha256), MetamerSynthesis
 *   .start/.resume(...).run({ checkpointEvery, onCheckpoint, shouldStop, deadline }), encode/decodeCheckpoint.
 * Validation (validation/): samplePairs + nullDistribution (per stage, seeded), prepareActivations, similarity, snr,
 *   certify (the metamer's verdict against the null and the label), argmax.
 * Robustness (robustness/): pgdAttack(x, { norm: L2|LINF, epsilon, steps, stepSize, randomStart, range }, rng, gradient)
 *   (untargeted PGD as examples/pytorch/train_mnist_models.py's pgd_l2), RobustnessEvaluator.create(modelBytes)
 *   .evaluate(x, label, attack, epsilons, seed, stimulusKey) -> per epsilon { correct, predicted }, through the
 *   crossEntropy gradient graph of the logits; attackSeed(seed, key, epsilon), oneHot(label, classes).
 * Statistics (stats/): correlations, bootstrap, permutation ANOVAs, all seeded (SeededRandom).
 * Media (media/): stimulus files -> model inputs (imageToTensor, audioToTensor with the StimulusLimits checked from
 *   headers first; INVALID_MEDIA), metamers -> files (renderImage: 8-bit PNG, renderAudio: float WAV, each with
 *   its values decoded back), decodeRendering, float32Bytes / float32FromBytes (the tensor blob format).
 */
export { EngineError, isEngineError, type EngineErrorCode } from "./errors.js";
export { decodeOnnxModel, encodeModel, OnnxModel, type ModelSummary, type NodeView } from "./onnx/model.js";
export { inspectModel, type LayerInfo } from "./catalogue.js";
export { checkNormalization, normalizationChannels, wrapWithNormalization, type InputNormalization } from "./onnx/normalization.js";
export {
  buildGradientGraph,
  checkDifferentiable,
  gradientOpset,
  GRADIENT_IO,
  type GradientGraph,
  type GradientGraphOptions,
  type LossKind,
  type ProbeInfo,
  type UnsupportedOp,
} from "./autodiff/backward.js";
export { RULES, NO_GRADIENT_OPS } from "./autodiff/rules.js";
export { probeModel } from "./runtime/probe.js";
export { ModelInspector, type InspectorLimits, type Inspection } from "./runtime/isolated.js";
export { assertSelfContained } from "./onnx/external-data.js";
export { checkStaticMemory, estimateStaticTensors, type StaticEstimate } from "./onnx/static-shapes.js";
export { publicOrtMessage } from "./runtime/ort-errors.js";
export { ForwardSession, GradientSession, type GradientOptions, type GradientResult } from "./runtime/sessions.js";
export { EngineSessionCache } from "./runtime/session-cache.js";
export { activeExecutionProvider, useExecutionProviders, type ExecutionProviderFallback } from "./runtime/ort.js";

export {
  ADAM_RANGE_PENALTY_DEFAULTS,
  DEFAULT_MAX_TOTAL_STEPS,
  FEATHER_2023_DEFAULTS,
  resolveSynthesisConfig,
  totalSteps,
  type AdamRangePenaltyConfig,
  type Feather2023Config,
  type Recipe,
  type SynthesisConfig,
  type SynthesisConfigInput,
  type SynthesisLoss,
} from "./synthesis/config.js";
export { initialNoise, noiseSeed, type InputModality } from "./synthesis/init.js";
export { decodeCheckpoint, encodeCheckpoint, type SynthesisState } from "./synthesis/checkpoint.js";
export type { HistoryEntry } from "./synthesis/history.js";
export {
  MetamerSynthesis,
  type GradientFunction,
  type RunOptions as SynthesisRunOptions,
  type RunResult as SynthesisRunResult,
  type StopReason,
  type SynthesisProgress,
  type SynthesisSetup,
} from "./synthesis/loop.js";

export {
  METRICS,
  prepareActivations,
  preparedSimilarity,
  similarity,
  snr,
  type Metric,
  type PreparedActivations,
  type Similarity,
} from "./validation/similarity.js";
export { DEFAULT_NULL_PAIRS, NULL_QUANTILES, nullDistribution, quantile, samplePairs, type NullDistributionStats } from "./validation/null-distribution.js";
export { argmax, certify, forcedChoice, type Certificate, type MetricVerdict, type NullSource } from "./validation/certificate.js";
export { augment, resolveAugmentation, type AugmentationInput, type AugmentationSpec } from "./validation/augment.js";
export {
  DEFAULT_REFERENCE_PAIRS,
  MAX_REFERENCE_PAIRS,
  MIN_POWERED_NULL_PAIRS,
  NullAccumulator,
  referenceNull,
  referencePairCount,
  referencePools,
  type ReferenceNullRun,
} from "./validation/reference-null.js";

export * from "./stats/index.js";
export { SeededRandom } from "./random.js";
export {
  attackSeed,
  checkAttack,
  oneHot,
  pgdAttack,
  RobustnessEvaluator,
  type LossGradient,
  type PgdAttack,
  type PgdNorm,
  type RobustOutcome,
} from "./robustness/index.js";

export * from "./media/index.js";
