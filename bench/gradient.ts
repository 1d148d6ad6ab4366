// npm run bench:gradient — ms per input-gradient step on torchvision resnet18 (random weights, 1000 classes,
// 1x3x224x224, opset 17, eval), our ONNX gradient graph in onnxruntime vs PyTorch autograd, same machine, same
// run, 2 threads each, interleaved rounds. Setup (export with PyTorch into .cache/bench) happens on first use.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ForwardSession, GradientSession } from "../src/engine/index.js";
import { SeededRandom } from "../src/engine/random.js";

const PYTHON = "/usr/bin/python3"; // Debian's python3-torch lives here, not in the pyenv python on PATH
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = path.join(root, ".cache", "bench");
const script = path.join(root, "bench", "torch_resnet18.py");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STEPS = Number(process.env.BENCH_STEPS ?? 6);
const THREADS = 2;

function ensurePyTorch(): void {
  try {
    execFileSync(PYTHON, ["-c", "import torch, torchvision, onnx"], { stdio: "ignore" });
    return;
  } catch {
    console.log("PyTorch/torchvision/onnx missing for /usr/bin/python3: installing Debian's python3-torch python3-torchvision python3-onnx");
  }
  execFileSync("apt-get", ["install", "-y", "python3-torch", "python3-torchvision", "python3-onnx"], { stdio: "inherit" });
}

function ensureExport(): { onnx: string; stages: Record<string, string>; inputShape: number[] } {
  const onnxPath = path.join(cacheDir, "resnet18.onnx");
  const metaPath = path.join(cacheDir, "resnet18.json");
  if (!existsSync(onnxPath) || !existsSync(metaPath)) {
    mkdirSync(cacheDir, { recursive: true });
    console.log(`exporting resnet18 to ${onnxPath}`);
    execFileSync(PYTHON, [script, "export", cacheDir], { stdio: "inherit" });
  }
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  return { onnx: onnxPath, stages: meta.stages, inputShape: meta.input_shape };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function f32file(file: string, data: Float32Array) {
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

async function main() {
  ensurePyTorch();
  const { onnx, stages, inputShape } = ensureExport();
  const bytes = new Uint8Array(readFileSync(onnx));
  const n = inputShape.reduce((a, b) => a * b, 1);
  const rng = new SeededRandom(11);
  const x = Float32Array.from({ length: n }, () => rng.next());
  const xNat = Float32Array.from({ length: n }, () => rng.next());
  const labels = ["layer3", "logits"] as const;

  const forward = await ForwardSession.create(bytes, labels.map((l) => stages[l]), { threads: THREADS });
  const targets = await forward.run(xNat);
  await forward.release();
  const sessions: Record<string, GradientSession> = {};
  for (const l of labels) {
    const t0 = performance.now();
    sessions[l] = await GradientSession.create(bytes, stages[l], { threads: THREADS });
    console.log(`${l}: gradient graph built and loaded in ${(performance.now() - t0).toFixed(0)} ms`);
  }

  // Correctness on this unseen model: our float32 gradient vs PyTorch float64 autograd.
  f32file(path.join(cacheDir, "x.f32"), x);
  f32file(path.join(cacheDir, "x_nat.f32"), xNat);
  for (const l of labels) {
    const refFile = path.join(cacheDir, `grad_${l}.f32`);
    const out = execFileSync(PYTHON, [script, "grads", cacheDir, l, path.join(cacheDir, "x.f32"), path.join(cacheDir, "x_nat.f32"), refFile]).toString();
    const refLoss = Number(/loss=(\S+)/.exec(out)![1]);
    const b = readFileSync(refFile);
    const ref = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const { loss, grad } = await sessions[l].run(x, targets[stages[l]]);
    let dot = 0, na = 0, nb = 0, maxErr = 0, maxRef = 0;
    for (let i = 0; i < n; i++) {
      dot += grad[i] * ref[i]; na += grad[i] ** 2; nb += ref[i] ** 2;
      maxErr = Math.max(maxErr, Math.abs(grad[i] - ref[i])); maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    console.log(
      `${l}: vs torch fp64: cosine ${(dot / Math.sqrt(na * nb)).toFixed(9)}, max-abs err / max|ref| ${(maxErr / maxRef).toExponential(2)}, ` +
        `loss ${loss.toPrecision(7)} vs ${refLoss.toPrecision(7)}`,
    );
  }

  const torch = spawn(PYTHON, [script, "serve", cacheDir, "--threads", String(THREADS)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: torch.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string);
  const ready = await next();
  console.log(`pytorch ${ready.torch}, ${ready.threads} threads; onnxruntime-node, ${THREADS} intra-op threads`);
  const torchSteps = async (label: string, steps: number): Promise<number[]> => {
    torch.stdin!.write(`${label} ${steps}\n`);
    return (await next()).ms;
  };
  const ourSteps = async (label: string, steps: number): Promise<number[]> => {
    const ms: number[] = [];
    const t = targets[stages[label]];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await sessions[label].run(x, t);
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  const times: Record<string, { ours: number[]; torch: number[] }> = {};
  for (const l of labels) {
    await torchSteps(l, 3); // warm-up
    await ourSteps(l, 3);
    times[l] = { ours: [], torch: [] };
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const l of labels) {
      times[l].torch.push(...(await torchSteps(l, STEPS)));
      times[l].ours.push(...(await ourSteps(l, STEPS)));
    }
  }
  torch.stdin!.end();
  for (const l of labels) await sessions[l].release();

  console.log(`\nresnet18, batch 1, 1x3x224x224, median ms per gradient step (${ROUNDS} interleaved rounds x ${STEPS} steps each)`);
  console.log("stage    ours (ORT)  pytorch   speedup");
  const ratios: Record<string, number> = {};
  for (const l of labels) {
    const o = median(times[l].ours);
    const t = median(times[l].torch);
    ratios[l] = t / o;
    console.log(`${l.padEnd(8)} ${o.toFixed(1).padStart(10)} ${t.toFixed(1).padStart(8)} ${ratios[l].toFixed(2).padStart(9)}`);
  }
  console.log(`logits speedup vs pytorch: ${ratios.logits.toFixed(2)}`);
  console.log(`layer3 speedup vs pytorch: ${ratios.layer3.toFixed(2)}`);
}

await main();
