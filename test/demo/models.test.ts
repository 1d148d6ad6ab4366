// The committed demo models (models/demo): what the manifest claims holds through real onnxruntime and the real
// layer catalogue, on the same fixed test split the training script used.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pickTestDigits, readSplit } from "../../src/demo/digits.js";
import { ForwardSession, inspectModel } from "../../src/engine/index.js";

const MODELS_DIR = path.resolve(import.meta.dirname, "../../models/demo");
const manifest = JSON.parse(readFileSync(path.join(MODELS_DIR, "manifest.json"), "utf8"));
const names = Object.keys(manifest.models);

describe("demo models manifest", () => {
  it("has four standard architectures, an adversarially trained model and its random-perturbation control", () => {
    const regimes = names.map((n) => manifest.models[n].trainingRegime);
    const standardArchitectures = new Set(names.filter((n) => manifest.models[n].trainingRegime === "standard").map((n) => manifest.models[n].architecture));
    expect(standardArchitectures.size).toBeGreaterThanOrEqual(4);
    expect(regimes).toContain("l2_pgd_adversarial");
    expect(regimes).toContain("l2_random_perturbation");
    const adv = names.find((n) => manifest.models[n].trainingRegime === "l2_pgd_adversarial")!;
    const rand = names.find((n) => manifest.models[n].trainingRegime === "l2_random_perturbation")!;
    expect(manifest.models[rand].randomPerturbationTraining.epsilon).toBe(manifest.models[adv].adversarialTraining.epsilon);
    expect(manifest.models[rand].architecture).toBe(manifest.models[adv].architecture);
    // The adversarially trained model resists the 20-step L2 PGD attack much better than its standard twin.
    const twin = names.find((n) => manifest.models[n].trainingRegime === "standard" && manifest.models[n].architecture === manifest.models[adv].architecture)!;
    expect(manifest.models[adv].robustTestAccuracy.accuracy).toBeGreaterThan(manifest.models[twin].robustTestAccuracy.accuracy + 0.3);
    const totalBytes = names.reduce((acc, n) => acc + statSync(path.join(MODELS_DIR, manifest.models[n].file)).size, 0);
    expect(totalBytes).toBeLessThan(8 * 1024 * 1024);
  });
});

describe.each(names)("demo model %s", (name) => {
  const entry = manifest.models[name];
  const bytes = readFileSync(path.join(MODELS_DIR, entry.file));

  it("has 4-6 differentiable stages, first to final, in the layer catalogue", async () => {
    const { summary, layers } = await inspectModel(bytes);
    expect(summary.inputShape).toEqual([1, 1, 28, 28]);
    expect(summary.opset).toBe(17);
    const stages = Object.entries<string>(entry.stages);
    expect(stages.length).toBeGreaterThanOrEqual(4);
    expect(stages.length).toBeLessThanOrEqual(6);
    const byName = new Map(layers.map((l) => [l.name, l]));
    const orders = stages.map(([label, tensor]) => {
      const layer = byName.get(tensor);
      expect(layer, `${label} -> ${tensor}`).toBeDefined();
      expect(layer!.differentiable, `${label}: ${JSON.stringify(layer!.unsupportedOps)}`).toBe(true);
      return layer!.order;
    });
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    expect(stages[stages.length - 1][1]).toBe(summary.outputNames[0]);
  });

  it("classifies the 2,000 fixed test digits through onnxruntime as accurately as the manifest says", async () => {
    const digits = pickTestDigits(readSplit(MODELS_DIR));
    expect(digits.length).toBe(2000);
    const x = new Float32Array(digits.length * 784);
    digits.forEach((d, i) => x.set(d.pixels, i * 784));
    const session = await ForwardSession.create(bytes, undefined, { threads: 1 });
    const logits = (await session.run(x))[session.outputNames[0]];
    await session.release();
    let correct = 0;
    digits.forEach((d, i) => {
      const row = logits.subarray(i * 10, i * 10 + 10);
      if (String(row.indexOf(Math.max(...row))) === d.label) correct++;
    });
    const accuracy = correct / digits.length;
    // PyTorch and onnxruntime may disagree on a digit whose top two logits nearly tie: allow 2 of 2,000.
    expect(Math.abs(accuracy - entry.cleanTestAccuracy)).toBeLessThanOrEqual(0.001);
    const floor = entry.trainingRegime !== "standard" ? 0.9 : entry.architecture === "mlp" ? 0.95 : 0.97;
    expect(accuracy).toBeGreaterThanOrEqual(floor);
  });
});
