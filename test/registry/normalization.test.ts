// The normalization wrapper (src/engine/onnx/normalization.ts) run by the real onnxruntime: on raw input x the wrapped
// model gives the original model's output on (x - mean) / std, and the input gradient through the Sub/Div is right.
import { describe, expect, it } from "vitest";
import { ForwardSession, GradientSession, SeededRandom, wrapWithNormalization, decodeOnnxModel } from "../../src/engine/index.js";
import { buildModel } from "../engine/build-model.js";

const C = 3;
const H = 5;
const W = 5;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** y = tanh(conv3x3(x) + b): a smooth model, so finite differences are meaningful. */
function convModel(rng: SeededRandom): Uint8Array {
  const weights = Float32Array.from({ length: 2 * C * 3 * 3 }, () => rng.normal() * 0.3);
  return buildModel({
    inputShape: [1, C, H, W],
    nodes: [
      { op: "Conv", inputs: ["x", "w", "b"], outputs: ["conv"], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: "Tanh", inputs: ["conv"], outputs: ["y"] },
    ],
    initializers: { w: { f32: weights, dims: [2, C, 3, 3] }, b: { f32: [0.1, -0.2], dims: [2] } },
    outputs: ["y"],
  });
}

function rawInput(rng: SeededRandom): Float32Array {
  return Float32Array.from({ length: C * H * W }, () => rng.next());
}

/** (x - mean) / std in float32, one rounding per op as onnxruntime's Sub and Div do it. */
function normalize(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / (H * W));
    out[i] = Math.fround(Math.fround(x[i] - Math.fround(MEAN[c])) / Math.fround(STD[c]));
  }
  return out;
}

describe("wrapWithNormalization", () => {
  it("gives, on raw x, exactly the original model's output on (x - mean) / std", async () => {
    const rng = new SeededRandom(13);
    const original = convModel(rng);
    const wrapped = wrapWithNormalization(original, { mean: MEAN, std: STD });
    const model = decodeOnnxModel(wrapped);
    // Same input name and shape; the Sub and Div come first.
    expect(model.inputName).toBe("x");
    expect(model.inputShape).toEqual([1, C, H, W]);
    expect(model.nodes.slice(0, 2).map((n) => n.opType)).toEqual(["Sub", "Div"]);

    const a = await ForwardSession.create(original, ["y"]);
    const b = await ForwardSession.create(wrapped, ["y"]);
    try {
      for (let trial = 0; trial < 3; trial++) {
        const x = rawInput(rng);
        const expected = (await a.run(normalize(x))).y;
        const got = (await b.run(x)).y;
        expect(got.length).toBe(2 * H * W);
        expect(Array.from(got)).toEqual(Array.from(expected));
        // and it is not the identity: the raw input gives something else
        expect(Array.from((await a.run(x)).y)).not.toEqual(Array.from(got));
      }
    } finally {
      await a.release();
      await b.release();
    }
  });

  it("differentiates through the wrapper: the input gradient matches finite differences and the chain rule", async () => {
    const rng = new SeededRandom(7);
    const original = convModel(rng);
    const wrapped = wrapWithNormalization(original, { mean: MEAN, std: STD });
    const x = rawInput(rng);
    const target = Float32Array.from({ length: 2 * H * W }, () => rng.normal() * 0.5);

    const g = await GradientSession.create(wrapped, "y", { loss: "mse" });
    const g0 = await GradientSession.create(original, "y", { loss: "mse" });
    const f = await ForwardSession.create(wrapped, ["y"]);
    try {
      const { grad } = await g.run(x, target);
      // chain rule: d/dx L(orig((x - m) / s)) = (dL/dz) / s, per channel
      const inner = (await g0.run(normalize(x), target)).grad;
      for (let i = 0; i < x.length; i++) {
        const c = Math.floor(i / (H * W));
        expect(grad[i]).toBeCloseTo(inner[i] / STD[c], 5);
      }
      // central differences of the forward model's mse, in float64 from its float32 outputs
      const loss = async (v: Float32Array) => {
        const y = (await f.run(v)).y;
        let s = 0;
        for (let i = 0; i < y.length; i++) s += (y[i] - target[i]) ** 2;
        return s / y.length;
      };
      const eps = 1e-2;
      let checked = 0;
      for (const i of [0, 7, 24, 25, 38, 49, 50, 62, 74]) {
        const plus = Float32Array.from(x);
        const minus = Float32Array.from(x);
        plus[i] += eps;
        minus[i] -= eps;
        const numeric = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
        expect(Math.abs(grad[i] - numeric), `d loss / d x[${i}]: analytic ${grad[i]}, numeric ${numeric}`).toBeLessThan(
          2e-3 * Math.max(1, Math.abs(numeric)) + 1e-4,
        );
        checked++;
      }
      expect(checked).toBe(9);
      expect(grad.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    } finally {
      await g.release();
      await g0.release();
      await f.release();
    }
  });

  it("refuses a mean or std of the wrong length and a std <= 0, naming the channel count", () => {
    const model = convModel(new SeededRandom(1));
    expect(() => wrapWithNormalization(model, { mean: [0.5, 0.5], std: STD })).toThrow(/normalization\.mean: .*3 channels.*got 2/);
    expect(() => wrapWithNormalization(model, { mean: MEAN, std: [0.2, 0, 0.2] })).toThrow(/normalization\.std\[1\]: expected a number > 0, got 0/);
    expect(() => wrapWithNormalization(model, { mean: [0, Number.NaN, 0], std: STD })).toThrow(/normalization\.mean\[1\]: expected a finite number/);
  });
});
