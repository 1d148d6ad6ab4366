// Acceptance: for every fixture model and every stage, our gradient at x0 matches PyTorch autograd (cosine >= 0.9999,
// max-abs error <= 1e-3 max|ref|, loss within 1e-4 relative), with and without the fake ReLU.
import { describe, expect, it } from "vitest";
import { GradientSession } from "../../src/engine/index.js";
import { onnx } from "../../src/engine/onnx/proto.js";
import { compareGradients, fixtureNames, loadManifest, modelBytes, readArray } from "./fixture-data.js";

describe("gradients of the fixture models against PyTorch", () => {
  it.each(fixtureNames())("%s: every stage", async (name) => {
    const m = loadManifest(name);
    const bytes = modelBytes(m);
    const x0 = readArray(m, "x0");
    expect(m.stages.length).toBeGreaterThan(0);
    let checked = 0;
    for (const stage of m.stages) {
      const target = readArray(m, stage.target);
      const variants: [boolean, string | undefined][] = [
        [false, stage.grad],
        [true, stage.grad_fake_relu],
      ];
      for (const [fakeRelu, refKey] of variants) {
        if (!refKey) continue;
        const session = await GradientSession.create(bytes, stage.tensor, { fakeRelu, threads: 1 });
        try {
          expect(session.stageShape).toEqual(m.arrays[stage.target].shape);
          const { loss, grad } = await session.run(x0, target);
          const ref = readArray(m, refKey);
          const { cosine, maxAbsError, maxAbsRef } = compareGradients(grad, ref);
          const where = `${name} ${stage.label}${fakeRelu ? " (fake ReLU)" : ""}`;
          expect(cosine, `${where}: cosine`).toBeGreaterThanOrEqual(0.9999);
          expect(maxAbsError, `${where}: max-abs error`).toBeLessThanOrEqual(1e-3 * maxAbsRef);
          expect(Math.abs(loss - stage.loss) / stage.loss, `${where}: loss ${loss} vs ${stage.loss}`).toBeLessThanOrEqual(1e-4);
          checked++;
        } finally {
          await session.release();
        }
      }
    }
    expect(checked).toBe(m.stages.length + m.stages.filter((s) => s.grad_fake_relu).length);
  });

  it.each(["resnet_mini", "cochnet"])("%s declared at opset 13 (its ops mean the same there) gives the same gradients", async (name) => {
    const m = loadManifest(name);
    const proto = onnx.ModelProto.decode(modelBytes(m));
    proto.opsetImport = [onnx.OperatorSetIdProto.create({ domain: "", version: 13 })];
    proto.irVersion = 7;
    const bytes = onnx.ModelProto.encode(proto).finish();
    const x0 = readArray(m, "x0");
    for (const stage of m.stages) {
      const session = await GradientSession.create(bytes, stage.tensor, { threads: 1 });
      const { grad } = await session.run(x0, readArray(m, stage.target));
      const { cosine, maxAbsError, maxAbsRef } = compareGradients(grad, readArray(m, stage.grad));
      expect(cosine, `${name} ${stage.label}`).toBeGreaterThanOrEqual(0.9999);
      expect(maxAbsError).toBeLessThanOrEqual(1e-3 * maxAbsRef);
      await session.release();
    }
  });

  it("fake ReLU changes the gradient only where the stage is a Relu output", async () => {
    const m = loadManifest("resnet_mini");
    const stage = m.stages.find((s) => s.grad_fake_relu)!;
    const bytes = modelBytes(m);
    const real = await GradientSession.create(bytes, stage.tensor, { threads: 1 });
    const fake = await GradientSession.create(bytes, stage.tensor, { fakeRelu: true, threads: 1 });
    const x0 = readArray(m, "x0");
    const t = readArray(m, stage.target);
    const [a, b] = [await real.run(x0, t), await fake.run(x0, t)];
    expect(a.loss).toBe(b.loss);
    // a caller-owned gradient buffer receives the same values
    const into = new Float32Array(x0.length);
    const c = await fake.run(x0, t, { grad: into });
    expect(c.grad).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(b.grad));
    expect(compareGradients(a.grad, b.grad).cosine).toBeLessThan(0.9999);
    await real.release();
    await fake.release();
  });
});
