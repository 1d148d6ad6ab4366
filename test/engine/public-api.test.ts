// src/engine/index.ts is the engine's one door (ESLint keeps everything outside src/engine to it). This pins what
// goes through it, so a name that appears or disappears there is a decision someone made, visible in review.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import * as engine from "../../src/engine/index.js";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");

/** The runtime names of the door (types leave no trace at run time; tsc checks those). */
const PUBLIC_NAMES = [
  // the engine's errors (mapped to the API's codes in src/errors.ts)
  "EngineError", "isEngineError",
  // ONNX in/out, the layer catalogue, untrusted files
  "OnnxModel", "decodeOnnxModel", "encodeModel", "wrapWithNormalization", "checkNormalization", "normalizationChannels", "inspectModel", "ModelInspector", "assertSelfContained",
  "checkStaticMemory", "estimateStaticTensors", "publicOrtMessage",
  // gradients and sessions
  "buildGradientGraph", "checkDifferentiable", "gradientOpset", "GRADIENT_IO", "RULES", "NO_GRADIENT_OPS", "probeModel",
  "ForwardSession", "GradientSession", "EngineSessionCache", "useExecutionProviders", "activeExecutionProvider",
  // synthesis
  "resolveSynthesisConfig", "totalSteps", "FEATHER_2023_DEFAULTS", "ADAM_RANGE_PENALTY_DEFAULTS", "DEFAULT_MAX_TOTAL_STEPS",
  "initialNoise", "noiseSeed", "encodeCheckpoint", "decodeCheckpoint", "MetamerSynthesis",
  // validation
  "METRICS", "similarity", "snr", "prepareActivations", "preparedSimilarity", "samplePairs", "nullDistribution", "quantile",
  "DEFAULT_NULL_PAIRS", "NULL_QUANTILES", "certify", "argmax", "forcedChoice",
  "augment", "resolveAugmentation", "DEFAULT_REFERENCE_PAIRS", "MAX_REFERENCE_PAIRS", "MIN_POWERED_NULL_PAIRS",
  "NullAccumulator", "referenceNull", "referencePairCount", "referencePools",
  // adversarial robustness (PGD with the cross-entropy gradient)
  "pgdAttack", "checkAttack", "attackSeed", "oneHot", "RobustnessEvaluator",
  // statistics
  "pearson", "spearman", "kendallTau", "rank", "argsort", "mean", "sem", "sampleStd", "quantileSorted", "bootstrap",
  "bootstrapMean", "percentileSummary", "DEFAULT_BOOTSTRAP", "mixedF", "repeatedMeasuresF", "permutationMixed",
  "permutationRepeatedMeasures", "permutationObserverMixed", "DEFAULT_PERMUTATIONS", "SeededRandom", "pairedSignFlipTest",
  // media codec
  "sniffKind", "contentTypeOf", "checkStimulusFile", "checkSampleRate", "checkTensorSize", "imageMetadata", "imageToTensor",
  "renderImage", "readWavInfo", "decodeWav", "resample", "audioToTensor", "renderAudio", "decodeRendering", "float32Bytes",
  "float32FromBytes",
];

/**
 * A fresh Node process imports the door, then (with `session`) makes one forward session of a tiny model, and says
 * whether onnxruntime's native library is mapped into it.
 */
async function ortLoadedAfterImport(session: boolean): Promise<boolean> {
  const script = `
    import { readFileSync } from "node:fs";
    const engine = await import(${JSON.stringify(path.join(root, "src/engine/index.ts"))});
    if (${session}) {
      const { buildModel } = await import(${JSON.stringify(path.join(root, "test/engine/build-model.ts"))});
      const model = buildModel({ inputShape: [1, 2], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }], outputs: ["y"] });
      const s = await engine.ForwardSession.create(model, ["y"]);
      await s.release();
    }
    console.log("onnxruntime mapped: " + /onnxruntime/.test(readFileSync("/proc/self/maps", "utf8")));`;
  const { stdout } = await run(process.execPath, ["--import", "@swc-node/register/esm-register", "--input-type=module", "-e", script], { cwd: root });
  const answer = /onnxruntime mapped: (true|false)/.exec(stdout);
  if (!answer) throw new Error(`the child process printed no answer: ${stdout}`);
  return answer[1] === "true";
}

describe("the engine's public API (src/engine/index.ts)", () => {
  it("exports exactly the pinned names", () => {
    expect(Object.keys(engine).sort()).toEqual([...PUBLIC_NAMES].sort());
  });

  it("does not load onnxruntime on import, only when a session is made", async () => {
    expect(await ortLoadedAfterImport(false)).toBe(false);
    expect(await ortLoadedAfterImport(true)).toBe(true);
  });
});
