// The cross-entropy loss of the backward-graph builder against PyTorch (float64 autograd through the same ONNX graph,
// examples/pytorch/cross_entropy_fixtures.py, committed under test/fixtures/robustness/cross-entropy) and against
// central finite differences of the graph's own loss.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GradientSession, SeededRandom } from "../../src/engine/index.js";
import { REPO_ROOT } from "../helpers/constants.js";
import { compareGradients, loadManifest, modelBytes, readArray } from "./fixture-data.js";

const CE_DIR = path.join(REPO_ROOT, "test/fixtures/robustness/cross-entropy");
interface CeManifest {
  models: Record<string, { logitsTensor: string; classes: number; labels: { label: number; loss: number; grad: string }[] }>;
}
const ce: CeManifest = JSON.parse(readFileSync(path.join(CE_DIR, "manifest.json"), "utf8"));

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function oneHot(label: number, classes: number): Float32Array {
  const t = new Float32Array(classes);
  t[label] = 1;
  return t;
}

describe("cross-entropy input gradient", () => {
  it.each(Object.keys(ce.models))("%s: matches PyTorch for two labels with one built graph", async (name) => {
    const ref = ce.models[name];
    const m = loadManifest(name);
    const x0 = readArray(m, "x0");
    const session = await GradientSession.create(modelBytes(m), ref.logitsTensor, { loss: "crossEntropy", threads: 1 });
    try {
      expect(session.stageShape).toEqual([1, ref.classes]);
      for (const { label, loss, grad } of ref.labels) {
        const out = await session.run(x0, oneHot(label, ref.classes));
        const { cosine, maxAbsError, maxAbsRef } = compareGradients(out.grad, readF32(path.join(CE_DIR, grad)));
        expect(cosine, `${name} label ${label}: cosine`).toBeGreaterThanOrEqual(0.9999);
        expect(maxAbsError, `${name} label ${label}: max-abs error`).toBeLessThanOrEqual(1e-3 * maxAbsRef);
        expect(Math.abs(out.loss - loss) / loss, `${name} label ${label}: loss ${out.loss} vs ${loss}`).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      await session.release();
    }
  });

  it.each([
    ["lenet fixture", "lenet"],
    ["resnet_mini fixture", "resnet_mini"],
  ])("%s: the gradient agrees with central finite differences of the loss", async (_, name) => {
    const ref = ce.models[name];
    const m = loadManifest(name);
    const x0 = readArray(m, "x0");
    const session = await GradientSession.create(modelBytes(m), ref.logitsTensor, { loss: "crossEntropy", threads: 1 });
    try {
      const rng = new SeededRandom(7);
      for (const label of [0, 5]) {
        const t = oneHot(label, ref.classes);
        const { grad } = await session.run(x0, t);
        // Two directions: the gradient itself (largest signal) and a random one mixed with it (tests every component).
        const gn = Math.hypot(...grad);
        const random = rng.fillNormal(new Float32Array(x0.length));
        const rn = Math.hypot(...random);
        for (const dir of [grad.map((g) => g / gn), random.map((r, i) => 0.5 * (r / rn) + 0.5 * (grad[i] / gn))]) {
          const h = 1e-2;
          const plus = await session.run(x0.map((v, i) => v + h * dir[i]), t);
          const minus = await session.run(x0.map((v, i) => v - h * dir[i]), t);
          const fd = (plus.loss - minus.loss) / (2 * h);
          let analytic = 0;
          for (let i = 0; i < grad.length; i++) analytic += grad[i] * dir[i];
          expect(Math.abs(fd - analytic) / Math.abs(analytic), `${name} label ${label}: fd ${fd} vs ${analytic}`).toBeLessThan(0.02);
        }
      }
    } finally {
      await session.release();
    }
  });

  it("label weights (not summing to 1) give the weighted sum of the one-hot losses and gradients", async () => {
    const ref = ce.models.mlp;
    const m = loadManifest("mlp");
    const x0 = readArray(m, "x0");
    const session = await GradientSession.create(modelBytes(m), ref.logitsTensor, { loss: "crossEntropy", threads: 1 });
    const a = await session.run(x0, oneHot(1, 10));
    const b = await session.run(x0, oneHot(8, 10));
    const mix = new Float32Array(10);
    mix[1] = 0.5;
    mix[8] = 1.5;
    const c = await session.run(x0, mix);
    expect(c.loss).toBeCloseTo(0.5 * a.loss + 1.5 * b.loss, 5);
    const expected = a.grad.map((g, i) => 0.5 * g + 1.5 * b.grad[i]);
    expect(compareGradients(c.grad, expected).maxAbsError).toBeLessThan(1e-6 * compareGradients(c.grad, expected).maxAbsRef + 1e-9);
    await session.release();
  });

  it("refuses a negative label weight, naming what it expected", async () => {
    const m = loadManifest("mlp");
    const session = await GradientSession.create(modelBytes(m), ce.models.mlp.logitsTensor, { loss: "crossEntropy", threads: 1 });
    const bad = oneHot(2, 10);
    bad[4] = -1;
    await expect(session.run(readArray(m, "x0"), bad)).rejects.toThrow(/label weights >= 0 .*value 4 is -1/);
    await session.release();
  });
});
