// Dev check on models the engine has never seen (see bench/torchvision_export.py): for every manifest in the
// folder, our gradient of every stage at x0 vs PyTorch float64 autograd.
//   node --import @swc-node/register/esm-register bench/check-unseen.ts .cache/unseen
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { GradientSession } from "../src/engine/index.js";

const dir = path.resolve(process.argv[2] ?? ".cache/unseen");
const f32 = (f: string) => {
  const b = readFileSync(path.join(dir, f));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
let worst = { cosine: 1, err: 0, loss: 0 };
let failures = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const m = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
  const bytes = new Uint8Array(readFileSync(path.join(dir, m.model)));
  const x0 = f32(m.arrays.x0.file);
  for (const st of m.stages) {
    try {
      const s = await GradientSession.create(bytes, st.tensor, { threads: 1 });
      const { loss, grad } = await s.run(x0, f32(m.arrays[st.target].file));
      await s.release();
      const ref = f32(m.arrays[st.grad].file);
      let dot = 0, a = 0, b = 0, maxErr = 0, maxRef = 0;
      for (let i = 0; i < ref.length; i++) {
        dot += grad[i] * ref[i]; a += grad[i] ** 2; b += ref[i] ** 2;
        maxErr = Math.max(maxErr, Math.abs(grad[i] - ref[i])); maxRef = Math.max(maxRef, Math.abs(ref[i]));
      }
      const cosine = dot / Math.sqrt(a * b);
      const err = maxErr / maxRef;
      const lossRel = Math.abs(loss - st.loss) / st.loss;
      const ok = cosine >= 0.9999 && err <= 1e-3 && lossRel <= 1e-4;
      if (!ok) failures++;
      worst = { cosine: Math.min(worst.cosine, cosine), err: Math.max(worst.err, err), loss: Math.max(worst.loss, lossRel) };
      console.log(`${ok ? "ok  " : "FAIL"} ${m.model.padEnd(28)} ${st.label.padEnd(20)} cosine ${cosine.toFixed(8)}  maxerr/max ${err.toExponential(2)}  loss rel ${lossRel.toExponential(2)}`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${m.model.padEnd(28)} ${st.label.padEnd(20)} ${(e as Error).message.slice(0, 300)}`);
    }
  }
}
console.log(`worst: cosine ${worst.cosine.toFixed(8)}, max-abs err / max|ref| ${worst.err.toExponential(2)}, loss rel ${worst.loss.toExponential(2)}; failures ${failures}`);
