// The loop's progress callback (src/engine/synthesis/loop.ts): one call per step with steps, total and loss, and
// `roundEnd` on the last step of each FEATHER_2023 round (where the worker writes its report at once).
import { describe, expect, it } from "vitest";
import { MetamerSynthesis, resolveSynthesisConfig, type GradientFunction } from "../../src/engine/synthesis/index.js";

/** loss = ||x - target||^2 / 2, gradient x - target: enough for a loop to step. */
const quadratic: GradientFunction = {
  async run(x, target) {
    const grad = new Float32Array(x.length);
    let loss = 0;
    for (let i = 0; i < x.length; i++) {
      grad[i] = x[i] - target[i];
      loss += grad[i] ** 2 / 2;
    }
    return { loss, grad };
  },
};

describe("the loop's progress callback", () => {
  it("reports every step with the schedule's total and the loss, and marks round ends", async () => {
    const config = resolveSynthesisConfig({ rounds: 3, stepsPerRound: 4, initialStep: 0.1 });
    const target = Float32Array.from([0.2, 0.8, 0.5]);
    const synthesis = MetamerSynthesis.start({ gradient: quadratic, target, config, range: [0, 1] }, Float32Array.from([0.9, 0.1, 0.0]));
    const calls: { iteration: number; totalIterations: number; loss: number; roundEnd: boolean }[] = [];
    await synthesis.run({ onProgress: (p, roundEnd) => calls.push({ ...p, roundEnd }) });
    expect(calls.map((c) => c.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(calls.every((c) => c.totalIterations === 12 && Number.isFinite(c.loss))).toBe(true);
    expect(calls.filter((c) => c.roundEnd).map((c) => c.iteration)).toEqual([4, 8, 12]);
    // The loss reported is the step's: it falls as x walks to the target.
    expect(calls[11].loss).toBeLessThan(calls[0].loss);
  });
});
