/**
 * Untargeted projected gradient descent (Madry et al. 2018) on one input, ascending the cross-entropy of the true
 * label. It follows examples/pytorch/train_mnist_models.py's pgd_l2 step for step, so the hub's robust accuracy
 * compares with the PyTorch figure in a model manifest:
 *   L2  : start x + eps * n / (||n|| + 1e-10), n ~ N(0, I), clamped to the input range;
 *         step x + a * g / (||g|| + 1e-10); delta = x_adv - x scaled by min(1, eps / (||delta|| + 1e-10));
 *         x_adv = clamp(x + delta).
 *   LINF: start x + U(-eps, eps) per value, clamped; step x + a * sign(g); delta clamped to [-eps, eps]; clamp.
 * The last iterate is the adversarial example (no early stop, as in PyTorch). Pure: the gradient comes from a
 * caller-supplied function and every draw from the SeededRandom it is given.
 */
import { EngineError } from "../errors.js";
import type { SeededRandom } from "../random.js";

export type PgdNorm = "L2" | "LINF";

export interface PgdAttack {
  norm: PgdNorm;
  epsilon: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  /** the model's input range; every iterate is clamped to it */
  range: readonly [number, number];
}

/** d CE(logits(x), label) / d x at x (the engine's crossEntropy gradient graph, or anything equivalent). */
export type LossGradient = (x: Float32Array) => Promise<Float32Array>;

/** Checks an attack; BAD input lists every problem with what was expected and what arrived. */
export function checkAttack(a: PgdAttack): void {
  const problems: string[] = [];
  if (a.norm !== "L2" && a.norm !== "LINF") problems.push(`norm: expected "L2" or "LINF", got ${JSON.stringify(a.norm)}`);
  if (!(Number.isFinite(a.epsilon) && a.epsilon >= 0)) problems.push(`epsilon: expected a finite number >= 0, got ${a.epsilon}`);
  if (!(Number.isInteger(a.steps) && a.steps >= 0)) problems.push(`steps: expected an integer >= 0, got ${a.steps}`);
  if (!(Number.isFinite(a.stepSize) && a.stepSize > 0)) problems.push(`stepSize: expected a finite number > 0, got ${a.stepSize}`);
  const [lo, hi] = a.range ?? [];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) problems.push(`range: expected [low, high] with low < high, got ${JSON.stringify(a.range)}`);
  if (problems.length) throw new EngineError("INVALID_ARGUMENT", `PGD attack: ${problems.join("; ")}`);
}

function l2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** The adversarial example for `x` (not modified). */
export async function pgdAttack(x: Float32Array, attack: PgdAttack, rng: SeededRandom, gradient: LossGradient): Promise<Float32Array> {
  checkAttack(attack);
  const { norm, epsilon: eps, steps, stepSize, randomStart } = attack;
  const [lo, hi] = attack.range;
  const clamp = (v: number) => (v < lo ? lo : v > hi ? hi : v);
  const adv = Float32Array.from(x);
  if (eps === 0) return adv; // the ball is the point itself: clean accuracy
  if (randomStart) {
    if (norm === "L2") {
      const n = new Float32Array(x.length);
      rng.fillNormal(n);
      const scale = eps / (l2(n) + 1e-10);
      for (let i = 0; i < x.length; i++) adv[i] = clamp(x[i] + scale * n[i]);
    } else {
      for (let i = 0; i < x.length; i++) adv[i] = clamp(x[i] + eps * (2 * rng.next() - 1));
    }
  }
  const delta = new Float32Array(x.length);
  for (let s = 0; s < steps; s++) {
    const g = await gradient(adv);
    if (norm === "L2") {
      const a = stepSize / (l2(g) + 1e-10);
      for (let i = 0; i < x.length; i++) delta[i] = adv[i] + a * g[i] - x[i];
      const shrink = Math.min(1, eps / (l2(delta) + 1e-10));
      for (let i = 0; i < x.length; i++) adv[i] = clamp(x[i] + delta[i] * shrink);
    } else {
      for (let i = 0; i < x.length; i++) {
        const d = adv[i] + stepSize * Math.sign(g[i]) - x[i];
        adv[i] = clamp(x[i] + (d < -eps ? -eps : d > eps ? eps : d));
      }
    }
  }
  return adv;
}

/**
 * The seed of one attack: a stimulus's draws depend only on (seed, stimulus, epsilon), so chunks of a job can run
 * in any order or on any worker and still reproduce the whole run (FNV-1a over the three).
 */
export function attackSeed(seed: number, stimulusKey: string, epsilon: number): number {
  let h = 0x811c9dc5;
  const text = `${Math.trunc(seed)}:${stimulusKey}:${epsilon}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A one-hot label row: the crossEntropy loss's target for class `label` of `classes`. */
export function oneHot(label: number, classes: number): Float32Array {
  if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
    throw new EngineError("INVALID_ARGUMENT", `label: expected an integer class index in [0, ${classes}), got ${label}`);
  }
  const t = new Float32Array(classes);
  t[label] = 1;
  return t;
}
