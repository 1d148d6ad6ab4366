// What one gradient step costs on each demo model and stage (models/demo), and what that means for the demo's
// budget: every model x stage x 100 digits x (rounds x stepsPerRound) steps.
// Usage: node --import @swc-node/register/esm-register bench/demo-gradient.ts [--dir models/demo] [--steps 300]
//        [--threads 1] [--rounds 8 --steps-per-round 150 --digits 100 --workers 2]
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { GradientSession } from "../src/engine/index.js";
import { SeededRandom } from "../src/engine/random.js";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "models/demo" },
    steps: { type: "string", default: "300" },
    threads: { type: "string", default: "1" },
    rounds: { type: "string", default: "8" },
    "steps-per-round": { type: "string", default: "150" },
    digits: { type: "string", default: "100" },
    workers: { type: "string", default: "2" },
  },
});
const steps = Number(values.steps);
const manifest = JSON.parse(readFileSync(path.join(values.dir!, "manifest.json"), "utf8"));
const rng = new SeededRandom(0);
const x = new Float32Array(784).map(() => Math.min(1, Math.max(0, 0.5 + 0.05 * rng.normal())));
const xNat = new Float32Array(784).map(() => (rng.next() < 0.2 ? rng.next() : 0));
let totalMs = 0;
console.log(`model         stage        ms/step (median of ${steps}, ${values.threads} thread(s))`);
for (const [name, entry] of Object.entries<any>(manifest.models)) {
  const bytes = readFileSync(path.join(values.dir!, entry.file));
  for (const [label, tensor] of Object.entries<string>(entry.stages)) {
    const session = await GradientSession.create(bytes, tensor, { fakeRelu: true, threads: Number(values.threads), outputActivations: true });
    const { activations } = await session.run(xNat, new Float32Array(session.stageShape.reduce((a, b) => a * b, 1)).fill(1));
    const target = activations!.map((v) => v + 1e-3);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await session.run(x, target);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    totalMs += median;
    console.log(`${name.padEnd(14)}${label.padEnd(13)}${median.toFixed(3)}`);
    await session.release();
  }
}
const perDigit = Number(values.rounds) * Number(values["steps-per-round"]);
const seconds = (totalMs * perDigit * Number(values.digits)) / 1000 / Number(values.workers);
console.log(`sum over stages: ${totalMs.toFixed(2)} ms per step; demo estimate (${values.rounds}x${values["steps-per-round"]} steps, ${values.digits} digits, ${values.workers} workers): ${seconds.toFixed(0)} s of gradient work`);
