// npm run bench:synthesis — steps per second of the whole FEATHER_2023 loop (gradient + normalised step + clamp +
// history) on the gradient benchmark's torchvision resnet18 (1x3x224x224, random weights) at layer3, against the bare
// gradient step (session.run alone) on the same session. Interleaved rounds, medians. Target: loop overhead <= 5%.
// The model comes from `npm run bench:gradient`'s export in .cache/bench (made here with PyTorch if missing).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ForwardSession, GradientSession } from "../src/engine/index.js";
import { SeededRandom } from "../src/engine/random.js";
import { initialNoise, MetamerSynthesis, resolveSynthesisConfig } from "../src/engine/synthesis/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = path.join(root, ".cache", "bench");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STEPS = Number(process.env.BENCH_STEPS ?? 20);

function ensureExport(): { onnx: string; stages: Record<string, string>; inputShape: number[] } {
  const onnx = path.join(cacheDir, "resnet18.onnx");
  const meta = path.join(cacheDir, "resnet18.json");
  if (!existsSync(onnx) || !existsSync(meta)) {
    mkdirSync(cacheDir, { recursive: true });
    console.log(`exporting resnet18 to ${onnx} (Debian python3-torch)`);
    execFileSync("/usr/bin/python3", [path.join(root, "bench", "torch_resnet18.py"), "export", cacheDir], { stdio: "inherit" });
  }
  const m = JSON.parse(readFileSync(meta, "utf8"));
  return { onnx, stages: m.stages, inputShape: m.input_shape };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
};

async function main() {
  const { onnx, stages, inputShape } = ensureExport();
  const bytes = new Uint8Array(readFileSync(onnx));
  const stage = stages.layer3;
  const n = inputShape.reduce((a, b) => a * b, 1);
  const rng = new SeededRandom(5);
  const xNat = Float32Array.from({ length: n }, () => rng.next());
  const forward = await ForwardSession.create(bytes, [stage]);
  const target = (await forward.run(xNat))[stage];
  await forward.release();
  const gradient = await GradientSession.create(bytes, stage, { fakeRelu: true });
  const x0 = initialNoise(n, { modality: "IMAGE", range: [0, 1], seed: 0, stimulusId: "bench" });
  // A schedule long enough that every timed chunk runs in the first round (same step rule throughout).
  const config = resolveSynthesisConfig({ rounds: 1, stepsPerRound: STEPS * ROUNDS + 10, historyEvery: 10 });
  const synthesis = MetamerSynthesis.start({ gradient, target, config, range: [0, 1] }, x0);
  for (let i = 0; i < 3; i++) await gradient.run(x0, target); // warm-up

  const bare: number[] = [];
  const loop: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Bare: the gradient step alone (no update), on an iterate of the running synthesis.
    const x = synthesis.current;
    let t = performance.now();
    for (let i = 0; i < STEPS; i++) await gradient.run(x, target);
    bare.push((performance.now() - t) / STEPS);
    // Whole loop: gradient + update + clamp + history, through the public API.
    let steps = 0;
    t = performance.now();
    await synthesis.run({ shouldStop: () => ++steps >= STEPS });
    loop.push((performance.now() - t) / STEPS);
  }
  // The loop's own work in isolation: the same schedule with the gradient replaced by a stored one (no onnxruntime),
  // so the update + clamp + norm + history cost is measured without the contention noise of a 20-500 ms step.
  const storedGrad = (await gradient.run(x0, target)).grad;
  await gradient.release();
  const stub = { run: async () => ({ loss: 0.5, grad: storedGrad }) };
  const bookkeeping = MetamerSynthesis.start({ gradient: stub, target, config, range: [0, 1] }, x0);
  let stubSteps = 0;
  const t0 = performance.now();
  await bookkeeping.run({ shouldStop: () => ++stubSteps >= 50 });
  const perStep = (performance.now() - t0) / 50;
  const b = median(bare);
  const l = median(loop);
  const overhead = (100 * (l - b)) / b;
  console.log(`resnet18 @ layer3, 1x3x224x224, ${ROUNDS} interleaved rounds x ${STEPS} steps`);
  console.log(`  bare gradient step : ${b.toFixed(2)} ms  (${(1000 / b).toFixed(1)} steps/s)  rounds: ${bare.map((v) => v.toFixed(1)).join(" ")}`);
  console.log(`  synthesis loop step: ${l.toFixed(2)} ms  (${(1000 / l).toFixed(1)} steps/s)  rounds: ${loop.map((v) => v.toFixed(1)).join(" ")}`);
  console.log(`  loop overhead      : ${overhead.toFixed(1)}% (target <= 5%) ${overhead <= 5 ? "OK" : "OVER"}`);
  console.log(`  loop work alone    : ${perStep.toFixed(3)} ms/step with the gradient stubbed = ${((100 * perStep) / b).toFixed(2)}% of the bare step`);
}

await main();
