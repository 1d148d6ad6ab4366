import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../../src/engine/random.js";
import {
  decodeCheckpoint,
  encodeCheckpoint,
  initialNoise,
  MetamerSynthesis,
  resolveSynthesisConfig,
  type GradientFunction,
} from "../../../src/engine/synthesis/index.js";
import { EngineError } from "../../../src/engine/index.js";

/** A small linear "model" a = W x with the paper's loss ||a - t|| / ||t|| and its exact gradient. */
function linearModel(inputs: number, outputs: number, seed: number) {
  const rng = new SeededRandom(seed);
  const w = new Float64Array(inputs * outputs);
  rng.fillNormal(w, 0, 1 / Math.sqrt(inputs));
  const forward = (x: ArrayLike<number>) => {
    const a = new Float64Array(outputs);
    for (let o = 0; o < outputs; o++) for (let i = 0; i < inputs; i++) a[o] += w[o * inputs + i] * x[i];
    return a;
  };
  const gradient: GradientFunction & { calls: number } = {
    calls: 0,
    async run(x, target) {
      this.calls++;
      const a = forward(x);
      let dd = 0;
      let tt = 0;
      for (let o = 0; o < outputs; o++) {
        dd += (a[o] - target[o]) ** 2;
        tt += target[o] ** 2;
      }
      const d = Math.sqrt(dd);
      const loss = d / Math.sqrt(tt);
      const grad = new Float32Array(inputs);
      for (let i = 0; i < inputs; i++) {
        let s = 0;
        for (let o = 0; o < outputs; o++) s += w[o * inputs + i] * (a[o] - target[o]);
        grad[i] = s / (d * Math.sqrt(tt) + 1e-30);
      }
      return { loss, grad };
    },
  };
  return { forward, gradient };
}

const range = [0, 1] as const;

function setupFor(config = resolveSynthesisConfig({ rounds: 3, stepsPerRound: 40, historyEvery: 10 })) {
  const { forward, gradient } = linearModel(64, 16, 7);
  const natural = new Float32Array(64);
  new SeededRandom(3).fillNormal(natural, 0.5, 0.2).forEach((v, i) => (natural[i] = Math.min(1, Math.max(0, v))));
  const target = Float32Array.from(forward(natural));
  const x0 = initialNoise(64, { modality: "IMAGE", range, seed: 0, stimulusId: "stim-1" });
  return { setup: { gradient, target, config, range }, x0, gradient };
}

describe("FEATHER_2023 loop", () => {
  it("defaults to the paper's schedule: 8 rounds x 3000 steps from step 1", () => {
    const config = resolveSynthesisConfig();
    expect(config).toMatchObject({ recipe: "FEATHER_2023", rounds: 8, stepsPerRound: 3000, initialStep: 1 });
  });

  it("halves the step every round (1, 1/2, 1/4) and takes unit-length normalised steps, clamped to the range", async () => {
    const { setup, x0 } = setupFor();
    const synthesis = MetamerSynthesis.start(setup, x0);
    const stepSizes = new Set<number>();
    let previous = synthesis.current;
    while (!synthesis.done) {
      const size = synthesis.currentStepSize();
      const entry = await synthesis.step();
      stepSizes.add(entry.stepSize);
      expect(entry.stepSize).toBe(size);
      const next = synthesis.current;
      let moved = 0;
      for (let i = 0; i < next.length; i++) {
        expect(next[i]).toBeGreaterThanOrEqual(0);
        expect(next[i]).toBeLessThanOrEqual(1);
        moved += (next[i] - previous[i]) ** 2;
      }
      // A clamp can only shorten the step.
      expect(Math.sqrt(moved)).toBeLessThanOrEqual(entry.stepSize * (1 + 1e-5));
      previous = next;
    }
    expect([...stepSizes]).toEqual([1, 0.5, 0.25]);
    expect(synthesis.iteration).toBe(120);
  });

  it("lowers the loss and records history every N steps plus the first and last", async () => {
    const { setup, x0 } = setupFor();
    const synthesis = MetamerSynthesis.start(setup, x0);
    const result = await synthesis.run();
    expect(result).toEqual({ reason: "completed", iteration: 120 });
    const iterations = synthesis.history.map((h) => h.iteration);
    expect(iterations).toEqual([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    const first = synthesis.history[0].loss;
    const final = await synthesis.evaluateLoss();
    expect(final).toBeLessThan(first * 0.5);
    expect(JSON.parse(JSON.stringify(synthesis.history))).toEqual(synthesis.history);
  });

  it("is bit-identical across reruns and across a checkpoint/resume through bytes", async () => {
    const a = setupFor();
    const whole = MetamerSynthesis.start(a.setup, a.x0);
    await whole.run();

    const b = setupFor();
    const first = MetamerSynthesis.start(b.setup, b.x0);
    const saved: Uint8Array[] = [];
    const stopAfter = 55;
    let steps = 0;
    const partial = await first.run({
      checkpointEvery: 20,
      onCheckpoint: (state) => void saved.push(encodeCheckpoint(state)),
      shouldStop: () => ++steps >= stopAfter,
    });
    expect(partial).toEqual({ reason: "cancelled", iteration: 55 });
    expect(saved.length).toBe(3); // at 20, 40 and the stop at 55
    const resumed = MetamerSynthesis.resume(b.setup, decodeCheckpoint(saved[1]));
    expect(resumed.iteration).toBe(40);
    await resumed.run();
    expect(Buffer.from(resumed.current.buffer)).toEqual(Buffer.from(whole.current.buffer));
    expect(resumed.history).toEqual(whole.history);
  });

  it("stops at a deadline after checkpointing", async () => {
    const { setup, x0 } = setupFor();
    const synthesis = MetamerSynthesis.start(setup, x0);
    let checkpoints = 0;
    const result = await synthesis.run({ deadline: Date.now() - 1, onCheckpoint: () => void checkpoints++ });
    expect(result).toEqual({ reason: "deadline", iteration: 1 });
    expect(checkpoints).toBe(1);
  });

  it("fails with NON_FINITE_LOSS on a NaN loss and leaves the iterate untouched", async () => {
    const { setup, x0 } = setupFor();
    let calls = 0;
    const poisoned: GradientFunction = {
      async run(x, target) {
        calls++;
        const out = await setup.gradient.run(x, target);
        return calls === 5 ? { loss: NaN, grad: out.grad } : out;
      },
    };
    const synthesis = MetamerSynthesis.start({ ...setup, gradient: poisoned }, x0);
    const checkpoints: number[] = [];
    let before: Float32Array | undefined;
    const error = await synthesis
      .run({ checkpointEvery: 2, onCheckpoint: (s) => void checkpoints.push(s.iteration) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("NON_FINITE_LOSS");
    expect((error as EngineError).message).toMatch(/loss became NaN at iteration 5/);
    expect(synthesis.iteration).toBe(4);
    expect(checkpoints).toEqual([2, 4]);
    before = synthesis.current;
    expect(before.every(Number.isFinite)).toBe(true);
  });
});

describe("ADAM_RANGE_PENALTY loop", () => {
  it("reduces the loss, stops on a flat loss before maxSteps, and resumes bit-identically", async () => {
    const config = resolveSynthesisConfig({
      recipe: "ADAM_RANGE_PENALTY",
      maxSteps: 2000,
      learningRate: 0.02,
      stopWindow: 20,
      stopTolerance: 1e-3,
      historyEvery: 50,
    });
    const { setup, x0 } = setupFor(config);
    const synthesis = MetamerSynthesis.start(setup, x0);
    const result = await synthesis.run();
    expect(result.reason).toBe("converged");
    expect(result.iteration).toBeLessThan(2000);
    expect(synthesis.history.at(-1)!.loss).toBeLessThan(synthesis.history[0].loss * 0.5);

    const again = setupFor(config);
    const first = MetamerSynthesis.start(again.setup, again.x0);
    let state: Uint8Array | undefined;
    let n = 0;
    await first.run({ shouldStop: () => ++n >= 30, onCheckpoint: (s) => void (state = encodeCheckpoint(s)) });
    const resumed = MetamerSynthesis.resume(again.setup, decodeCheckpoint(state!));
    const resumedResult = await resumed.run();
    expect(resumedResult).toEqual(result);
    expect(Buffer.from(resumed.current.buffer)).toEqual(Buffer.from(synthesis.current.buffer));
  });
});

describe("initial noise", () => {
  it("draws N(mid, (0.05 range)^2) clipped, one draw per (stimulus, seed)", () => {
    const x = initialNoise(100_000, { modality: "IMAGE", range: [0, 1], seed: 0, stimulusId: "s" });
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    expect(mean).toBeCloseTo(0.5, 3);
    expect(std).toBeCloseTo(0.05, 3);
    const same = initialNoise(100_000, { modality: "IMAGE", range: [0, 1], seed: 0, stimulusId: "s" });
    expect(Buffer.from(same.buffer)).toEqual(Buffer.from(x.buffer));
    const other = initialNoise(10, { modality: "IMAGE", range: [0, 1], seed: 0, stimulusId: "t" });
    const otherSeed = initialNoise(10, { modality: "IMAGE", range: [0, 1], seed: 1, stimulusId: "s" });
    expect(Array.from(other)).not.toEqual(Array.from(x.subarray(0, 10)));
    expect(Array.from(otherSeed)).not.toEqual(Array.from(x.subarray(0, 10)));
  });

  it("draws audio as N(0, 1e-7^2) within [-1, 1]", () => {
    const x = initialNoise(50_000, { modality: "AUDIO", range: [-1, 1], seed: 0, stimulusId: "s" });
    const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(rms / 1e-7).toBeCloseTo(1, 1);
  });
});

describe("config validation", () => {
  it.each([
    [{ rounds: 0 }, /config\.rounds: expected a positive integer, got 0/],
    [{ stepsPerRound: -5 }, /config\.stepsPerRound: expected a positive integer, got -5/],
    [{ initialStep: NaN }, /config\.initialStep: expected a finite number > 0, got NaN/],
    [{ rounds: 100, stepsPerRound: 3000 }, /takes 300000 gradient steps, more than the cap of 50000/],
    [{ learningRate: 0.1 }, /config\.learningRate: not a setting of recipe FEATHER_2023/],
    [{ recipe: "SGD" }, /config\.recipe: expected FEATHER_2023 or ADAM_RANGE_PENALTY, got SGD/],
  ])("rejects %j", (input, message) => {
    let error: unknown;
    try {
      resolveSynthesisConfig(input as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe("INVALID_ARGUMENT");
    expect((error as EngineError).message).toMatch(message);
  });

  it("honours a configured cap", () => {
    expect(() => resolveSynthesisConfig({ rounds: 2, stepsPerRound: 100 }, { maxTotalSteps: 150 })).toThrow(/cap of 150/);
  });
});
