// The engine's PGD (src/engine/robustness/pgd.ts) on a known loss: the iterates stay in the ball and the input range,
// the steps follow the normalised (L2) or sign (LINF) gradient, draws are seeded, and bad attacks are refused.
import { describe, expect, it } from "vitest";
import { checkAttack, pgdAttack, SeededRandom, type PgdAttack } from "../../src/engine/index.js";

const l2 = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const diff = (a: Float32Array, b: Float32Array) => a.map((v, i) => v - b[i]);

/** The gradient of a linear loss w . x: PGD should walk straight along w (L2) or sign(w) (LINF). */
const linear = (w: Float32Array) => async () => w;

function image(n: number, seed: number): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => 0.2 + 0.6 * r.next());
}

const base: PgdAttack = { norm: "L2", epsilon: 1, steps: 10, stepSize: 0.25, randomStart: false, range: [0, 1] };

describe("pgdAttack", () => {
  it("L2 without a random start walks along the gradient and stops on the eps sphere", async () => {
    const x = image(64, 1);
    const w = Float32Array.from({ length: 64 }, (_, i) => (i % 3) - 1);
    // 2 steps of 0.25 stay inside the ball: the displacement is 0.5 w / ||w||
    const short = await pgdAttack(x, { ...base, steps: 2 }, new SeededRandom(0), linear(w));
    const d = diff(short, x);
    expect(l2(d)).toBeCloseTo(0.5, 5);
    const wn = l2(w);
    d.forEach((v, i) => expect(v).toBeCloseTo((0.5 * w[i]) / wn, 5));
    // 10 steps would go 2.5: projected back onto the sphere of radius 1
    const long = await pgdAttack(x, base, new SeededRandom(0), linear(w));
    expect(l2(diff(long, x))).toBeCloseTo(1, 4);
  });

  it("clamps every iterate to the input range", async () => {
    const x = image(64, 2);
    const w = new Float32Array(64).fill(1);
    const adv = await pgdAttack(x, { ...base, epsilon: 100, steps: 50, stepSize: 5 }, new SeededRandom(0), linear(w));
    expect(Math.min(...adv)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...adv)).toBe(1);
  });

  it("LINF takes sign steps and keeps every value within eps", async () => {
    const x = image(64, 3);
    const w = Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 0.001 : -5));
    const one = await pgdAttack(x, { ...base, norm: "LINF", epsilon: 0.1, steps: 1, stepSize: 0.03 }, new SeededRandom(0), linear(w));
    diff(one, x).forEach((v, i) => expect(v).toBeCloseTo(i % 2 ? 0.03 : -0.03, 6));
    const many = await pgdAttack(x, { ...base, norm: "LINF", epsilon: 0.1, steps: 20, stepSize: 0.03, randomStart: true }, new SeededRandom(5), linear(w));
    diff(many, x).forEach((v, i) => expect(v).toBeCloseTo(i % 2 ? 0.1 : -0.1, 6));
  });

  it("the L2 random start lies on the eps sphere (before clamping), is seeded, and differs between seeds", async () => {
    const x = new Float32Array(256).fill(0.5);
    const start = (seed: number) => pgdAttack(x, { ...base, epsilon: 0.5, steps: 0, randomStart: true }, new SeededRandom(seed), linear(x));
    const [a, b, c] = [await start(1), await start(1), await start(2)];
    expect(l2(diff(a, x))).toBeCloseTo(0.5, 4);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it("eps 0 returns the input itself (clean accuracy) without asking for a gradient", async () => {
    const x = image(16, 4);
    let calls = 0;
    const adv = await pgdAttack(x, { ...base, epsilon: 0, randomStart: true }, new SeededRandom(0), async () => (calls++, x));
    expect(Array.from(adv)).toEqual(Array.from(x));
    expect(calls).toBe(0);
  });

  it("refuses a bad attack, listing every problem with what arrived", () => {
    expect(() => checkAttack({ norm: "L1" as never, epsilon: -1, steps: 2.5, stepSize: 0, randomStart: true, range: [1, 0] })).toThrow(
      /norm: expected "L2" or "LINF", got "L1"; epsilon: expected a finite number >= 0, got -1; steps: expected an integer >= 0, got 2.5; stepSize: expected a finite number > 0, got 0; range: expected \[low, high\] with low < high, got \[1,0\]/,
    );
  });
});
