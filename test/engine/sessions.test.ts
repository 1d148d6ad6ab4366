// GradientSession / ForwardSession behaviour beyond the gradient values: extra outputs, the mse loss, batching,
// sharing, and clear errors for bad arrays.
import { describe, expect, it } from "vitest";
import { ForwardSession, GradientSession } from "../../src/engine/index.js";
import { EngineError } from "../../src/engine/index.js";
import { loadManifest, modelBytes, readArray } from "./fixture-data.js";

const m = loadManifest("lenet");
const bytes = modelBytes(m);
const stage = m.stages.find((s) => s.label === "relu2")!;
const x0 = readArray(m, "x0");
const xNat = readArray(m, "x_nat");
const target = readArray(m, stage.target);

describe("GradientSession", () => {
  it("returns the stage activations and logits of the same run, equal to plain inference", async () => {
    const g = await GradientSession.create(bytes, stage.tensor, { outputActivations: true, outputLogits: true, threads: 1 });
    const f = await ForwardSession.create(bytes, [stage.tensor, "logits"], { threads: 1 });
    const r = await g.run(x0, target);
    const plain = await f.run(x0);
    expect(Array.from(r.activations!)).toEqual(Array.from(plain[stage.tensor]));
    expect(Array.from(r.logits!)).toEqual(Array.from(plain.logits));
    expect(g.logitsShape).toEqual([1, 10]);
    await g.release();
    await f.release();
  });

  it("mse loss is mean((a - t)^2) and its gradient vanishes at the target", async () => {
    const g = await GradientSession.create(bytes, stage.tensor, { loss: "mse", outputActivations: true, threads: 1 });
    const r = await g.run(x0, target);
    let s = 0;
    for (let i = 0; i < target.length; i++) s += (r.activations![i] - target[i]) ** 2;
    expect(r.loss).toBeCloseTo(s / target.length, 6);
    const atTarget = await g.run(xNat, target);
    expect(atTarget.loss).toBeLessThan(1e-10);
    expect(Math.max(...atTarget.grad.map(Math.abs))).toBeLessThan(1e-6);
    await g.release();
  });

  it("shares one built graph per (model, stage, options) and counts references", async () => {
    const before = GradientSession.loadedGraphs();
    const a = await GradientSession.create(bytes, stage.tensor, { threads: 1 });
    const b = await GradientSession.create(bytes, stage.tensor, { threads: 1 });
    expect(GradientSession.loadedGraphs()).toBe(before + 1);
    expect(a.graphNodeCount).toBeGreaterThan(0);
    await a.release();
    const r = await b.run(x0, target); // still usable after the other handle is released
    expect(Math.abs(r.loss - stage.loss) / stage.loss).toBeLessThan(1e-4);
    await b.release();
    expect(GradientSession.loadedGraphs()).toBe(before);
    await expect(b.run(x0, target)).rejects.toThrow(/released/);
  });

  it("wrong array lengths and a zero target are INVALID_ARGUMENT naming what was expected", async () => {
    const g = await GradientSession.create(bytes, stage.tensor, { threads: 1 });
    const err = await g.run(new Float32Array(10), target).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/x: expected 784 float32 values \(shape \[1, 1, 28, 28\]\), got 10/);
    await expect(g.run(x0, new Float32Array(target.length))).rejects.toThrow(/\|\|target\|\|/);
    await expect(g.run(x0, target, { grad: new Float32Array(3) })).rejects.toThrow(/into.grad: expected 784/);
    await expect(GradientSession.create(bytes, stage.tensor, { loss: "l1" as never })).rejects.toThrow(/loss: expected "normalizedL2", "mse" or "crossEntropy", got "l1"/);
    await g.release();
  });
});

describe("ForwardSession", () => {
  it("runs inputs stacked along dim 0 one at a time for a fixed batch of 1", async () => {
    const f = await ForwardSession.create(bytes, undefined, { threads: 1 });
    const both = new Float32Array(2 * x0.length);
    both.set(x0, 0);
    both.set(xNat, x0.length);
    const batch = (await f.run(both)).logits;
    const one = (await f.run(x0)).logits;
    const two = (await f.run(xNat)).logits;
    expect(Array.from(batch)).toEqual([...one, ...two]);
    await expect(f.run(new Float32Array(5))).rejects.toThrow(/expected a Float32Array of 784 values/);
    await f.release();
  });

  it("rejects unknown output names", async () => {
    await expect(ForwardSession.create(bytes, ["nope"])).rejects.toThrow(/not found: 'nope'/);
  });
});
