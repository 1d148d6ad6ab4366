// npm run check:robustness: issue 12 item 8's check on the full 2,000 test digits of models/demo/mnist-split.json.
// For resnet_l2adv and resnet, robust accuracy under the manifest's attack (untargeted L2 PGD, random start, eps 2,
// 20 steps of 0.25) with the hub's PGD (RobustnessEvaluator, what a ROBUSTNESS job runs per stimulus, seeded per
// (seed, stimulus sha256, eps)) on the digits as the service stores them (8-bit PNGs), printed beside the manifest's
// PyTorch figure; exits 1 when a model is further than 0.03 from it.
//   npm run check:robustness [-- --models resnet_l2adv,resnet --seed 0 --threads 2]
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { digitPng, pickTestDigits, readSplit } from "../src/demo/digits.js";
import { bootstrapMean, RobustnessEvaluator } from "../src/engine/index.js";

const MODELS_DIR = path.resolve(import.meta.dirname, "../models/demo");
const TOLERANCE = 0.03;

const { values } = parseArgs({
  options: { models: { type: "string", default: "resnet_l2adv,resnet" }, seed: { type: "string", default: "0" }, threads: { type: "string", default: "2" } },
});
const manifest = JSON.parse(readFileSync(path.join(MODELS_DIR, "manifest.json"), "utf8")) as {
  models: Record<string, { file: string; robustTestAccuracy: { epsilon: number; steps: number; stepSize: number; accuracy: number } }>;
};
const digits = pickTestDigits(readSplit(MODELS_DIR));
// the stored stimulus: an 8-bit PNG (src/demo/digits.ts digitPng), decoded back to [0, 1]; its random start is keyed
// by the PNG's sha256 as in a ROBUSTNESS job, so these are the outcomes evaluateRobustness gives on the same seed
const inputs = digits.map((d) => d.pixels.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255));
const keys = await Promise.all(digits.map(async (d) => createHash("sha256").update(await digitPng(d.pixels)).digest("hex")));
let failed = false;
console.log(`robust accuracy on ${digits.length} test digits (seed ${values.seed}); manifest = PyTorch, train_mnist_models.py`);
for (const name of values.models!.split(",")) {
  const entry = manifest.models[name];
  if (!entry) throw new Error(`--models: expected names from models/demo/manifest.json (${Object.keys(manifest.models).join(", ")}), got '${name}'`);
  const a = entry.robustTestAccuracy;
  const evaluator = await RobustnessEvaluator.create(new Uint8Array(readFileSync(path.join(MODELS_DIR, entry.file))), { threads: Number(values.threads) });
  const started = performance.now();
  const flags: number[] = [];
  for (const [i, d] of digits.entries()) {
    const [r] = await evaluator.evaluate(inputs[i], Number(d.label), { norm: "L2", steps: a.steps, stepSize: a.stepSize, randomStart: true, range: [0, 1] }, [a.epsilon], Number(values.seed), keys[i]);
    flags.push(r.correct ? 1 : 0);
  }
  const seconds = (performance.now() - started) / 1000;
  await evaluator.release();
  const b = bootstrapMean(flags, { resamples: 1000, seed: Number(values.seed) });
  const delta = b.estimate - a.accuracy;
  const ok = Math.abs(delta) <= TOLERANCE;
  failed ||= !ok;
  console.log(
    `${name.padEnd(13)} hub ${b.estimate.toFixed(4)} [95% CI ${b.low.toFixed(4)}, ${b.high.toFixed(4)}]  manifest ${a.accuracy.toFixed(4)}  ` +
      `difference ${delta >= 0 ? "+" : ""}${delta.toFixed(4)} (allowed ${TOLERANCE})  ${ok ? "OK" : "FAIL"}  ${seconds.toFixed(1)} s (${((1000 * seconds) / digits.length).toFixed(1)} ms/digit)`,
  );
}
process.exit(failed ? 1 : 0);
