// How long a model-level reference null of the demo's size takes (issue 12 item 1): the engine's streamed
// referenceNull over the 8,000 training digits of models/demo (no augmentation, or --augment), for every stage of
// every demo model, one onnxruntime thread. Usage:
//   node --import @swc-node/register/esm-register bench/reference-null.ts [--pairs 100000] [--models mlp,lenet] [--augment]
import { readFileSync } from "node:fs";
import path from "node:path";
import { augment, ForwardSession, referenceNull, type AugmentationSpec } from "../src/engine/index.js";
import { mnistDigitsDir, readSplit } from "../src/demo/digits.js";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const pairs = Number(opt("pairs") ?? 100_000);
const modelsDir = path.resolve(import.meta.dirname, "../models/demo");
const manifest = JSON.parse(readFileSync(path.join(modelsDir, "manifest.json"), "utf8")) as { models: Record<string, { file: string; stages: Record<string, string> }> };
const names = opt("models")?.split(",") ?? Object.keys(manifest.models);
const spec: AugmentationSpec | null = args.includes("--augment") ? { cropMinScale: 0.8, flip: false, jitter: 0.1, noiseSnrDb: null } : null;

// The training digits: every digit of the split that is not a test digit.
const split = readSplit(modelsDir);
const test = new Set(split.test);
const train: Float32Array[] = [];
let index = 0;
for (let k = 0; k < 10; k++) {
  const raw: number[] = JSON.parse(readFileSync(path.join(mnistDigitsDir(), `${k}.json`), "utf8")).data;
  for (let j = 0; j < split.classSizes[k]; j++, index++) if (!test.has(index)) train.push(Float32Array.from(raw.slice(j * 784, (j + 1) * 784)));
}
console.log(`reference set: ${train.length} training digits; ${pairs} pairs per null; augmentation ${spec ? JSON.stringify(spec) : "none"}`);

for (const name of names) {
  const entry = manifest.models[name];
  const stages = Object.values(entry.stages);
  const session = await ForwardSession.create(readFileSync(path.join(modelsDir, entry.file)), stages, { threads: 1 });
  const started = performance.now();
  let views = 0;
  const result = await referenceNull({
    setSize: train.length, n: pairs, seed: 0, stages, poolSize: 128, augmented: spec !== null,
    activations: async (i, rng) => {
      views++;
      return session.run(spec ? augment(train[i], [1, 1, 28, 28], [0, 1], spec, rng) : train[i]);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const maxima = Object.entries(entry.stages).map(([label, t]) => `${label} rho ${result[t].maxima.spearman.toFixed(3)} snr ${result[t].maxima.snr.toFixed(1)}`);
  console.log(`${name}: ${stages.length} stages, ${views} forward passes, ${seconds.toFixed(1)} s; maxima: ${maxima.join("; ")}`);
  await session.release();
}
