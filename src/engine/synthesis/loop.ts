import { EngineError } from "../errors.js";
import type { SynthesisState } from "./checkpoint.js";
import { totalSteps, type AdamRangePenaltyConfig, type Feather2023Config, type SynthesisConfig } from "./config.js";
import type { HistoryEntry } from "./history.js";

/**
 * What the loop needs from the model: the loss against a fixed target and its input gradient. The engine's
 * GradientSession satisfies it; tests can pass any function, so the loop does not depend on onnxruntime.
 */
export interface GradientFunction {
  run(x: Float32Array, target: Float32Array): Promise<{ loss: number; grad: Float32Array }>;
}

export type StopReason = "completed" | "converged" | "cancelled" | "deadline";

export interface SynthesisProgress {
  iteration: number;
  totalIterations: number;
  loss: number;
}

export interface RunOptions {
  /** Call onCheckpoint every this many steps (and when stopping early). */
  checkpointEvery?: number;
  onCheckpoint?: (state: SynthesisState, progress: SynthesisProgress) => Promise<void> | void;
  /** Checked after every step; cheap and synchronous (e.g. a flag set by a heartbeat that saw a cancellation). */
  shouldStop?: () => boolean;
  /** Epoch milliseconds: stop (after a checkpoint) once a step ends past it. Lambda uses it to continue elsewhere. */
  deadline?: number;
  /**
   * Called after every step, synchronously: it must be cheap (the caller keeps the latest value and throttles what
   * it writes; a database write per step would cost more than a small model's step). `roundEnd` is true on the last
   * step of a FEATHER_2023 round (the step size halves next), a natural point to report.
   */
  onProgress?: (progress: SynthesisProgress, roundEnd: boolean) => void;
}

export interface RunResult {
  reason: StopReason;
  iteration: number;
}

export interface SynthesisSetup {
  gradient: GradientFunction;
  target: Float32Array;
  config: SynthesisConfig;
  /** Input range [lo, hi]: FEATHER_2023 clamps to it, ADAM_RANGE_PENALTY penalises leaving it. */
  range: readonly [number, number];
}

/**
 * The metamer optimisation as an object with a lifecycle (plenoptic's Metamer, architecture.md): start from noise or
 * resume from a checkpoint, step, run to a stop rule, hand out checkpoints. It never touches storage: callers persist
 * what onCheckpoint gives them. The same inputs give bit-identical iterates (all arithmetic is sequential JS on the
 * gradient the session returns; no randomness after the initial draw).
 */
export class MetamerSynthesis {
  readonly totalIterations: number;
  private readonly x: Float32Array;
  private iterationCount: number;
  private readonly historyEntries: HistoryEntry[];
  private m?: Float64Array;
  private v?: Float64Array;
  private recentLosses: number[];
  private lastLossValue: number | undefined;
  private converged = false;

  private constructor(
    private readonly setup: SynthesisSetup,
    state: SynthesisState,
  ) {
    const [lo, hi] = setup.range;
    if (!(lo < hi)) throw new EngineError("INVALID_ARGUMENT", `input range: expected lo < hi, got [${lo}, ${hi}]`);
    this.totalIterations = totalSteps(setup.config);
    this.x = state.x;
    this.iterationCount = state.iteration;
    this.historyEntries = state.history;
    this.recentLosses = state.recentLosses ?? [];
    this.lastLossValue = state.lastLoss;
    if (setup.config.recipe === "ADAM_RANGE_PENALTY") {
      this.m = state.m ?? new Float64Array(state.x.length);
      this.v = state.v ?? new Float64Array(state.x.length);
      this.converged = hasConverged(this.recentLosses, setup.config);
    }
  }

  /** A new synthesis from an initial point (copied; FEATHER_2023 clamps it into the range first). */
  static start(setup: SynthesisSetup, x0: Float32Array): MetamerSynthesis {
    const x = Float32Array.from(x0);
    if (setup.config.recipe === "FEATHER_2023") clampInPlace(x, setup.range[0], setup.range[1]);
    return new MetamerSynthesis(setup, { iteration: 0, x, history: [] });
  }

  /** Continues from a checkpoint taken from a synthesis with the same setup. */
  static resume(setup: SynthesisSetup, state: SynthesisState): MetamerSynthesis {
    if (state.iteration > totalSteps(setup.config)) {
      throw new Error(`checkpoint is at iteration ${state.iteration}, past the schedule's ${totalSteps(setup.config)} steps`);
    }
    return new MetamerSynthesis(setup, {
      ...state,
      x: Float32Array.from(state.x),
      history: state.history.map((h) => ({ ...h })),
      recentLosses: state.recentLosses ? [...state.recentLosses] : undefined,
      m: state.m ? Float64Array.from(state.m) : undefined,
      v: state.v ? Float64Array.from(state.v) : undefined,
    });
  }

  get iteration(): number {
    return this.iterationCount;
  }

  get done(): boolean {
    return this.iterationCount >= this.totalIterations || this.converged;
  }

  /** The current iterate (a copy). For FEATHER_2023 the last iterate is the metamer. */
  get current(): Float32Array {
    return Float32Array.from(this.x);
  }

  get history(): HistoryEntry[] {
    return this.historyEntries.map((h) => ({ ...h }));
  }

  /** Loss at the iterate the latest step started from. */
  get lastLoss(): number | undefined {
    return this.lastLossValue;
  }

  /** A snapshot to persist; resume() from it continues bit-identically. */
  state(): SynthesisState {
    return {
      iteration: this.iterationCount,
      x: Float32Array.from(this.x),
      history: this.history,
      m: this.m ? Float64Array.from(this.m) : undefined,
      v: this.v ? Float64Array.from(this.v) : undefined,
      recentLosses: this.setup.config.recipe === "ADAM_RANGE_PENALTY" ? [...this.recentLosses] : undefined,
      lastLoss: this.lastLossValue,
    };
  }

  /** Step size the next FEATHER_2023 step uses: initialStep / 2^round. */
  currentStepSize(): number {
    const config = this.setup.config;
    if (config.recipe !== "FEATHER_2023") return config.learningRate;
    const round = Math.min(Math.floor(this.iterationCount / config.stepsPerRound), config.rounds - 1);
    return config.initialStep / 2 ** round;
  }

  /** One gradient step. Throws NON_FINITE_LOSS (state unchanged) when the loss or gradient is NaN or infinite. */
  async step(): Promise<HistoryEntry> {
    if (this.done) throw new Error(`synthesis already finished at iteration ${this.iterationCount}`);
    const { loss, grad } = await this.setup.gradient.run(this.x, this.setup.target);
    if (grad.length !== this.x.length) {
      throw new Error(`gradient has ${grad.length} elements, the input has ${this.x.length}`);
    }
    const config = this.setup.config;
    const entry =
      config.recipe === "FEATHER_2023" ? this.featherStep(loss, grad, config) : this.adamStep(loss, grad, config);
    this.iterationCount += 1;
    this.lastLossValue = entry.loss;
    const every = config.historyEvery;
    if (this.iterationCount === 1 || this.iterationCount % every === 0 || this.done) this.historyEntries.push(entry);
    return entry;
  }

  /** Steps until the schedule ends, the stop rule fires, shouldStop() says so or the deadline passes. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const every = options.checkpointEvery ?? Infinity;
    let sinceCheckpoint = 0;
    const checkpoint = async () => {
      sinceCheckpoint = 0;
      await options.onCheckpoint?.(this.state(), this.progress());
    };
    while (!this.done) {
      await this.step();
      sinceCheckpoint += 1;
      options.onProgress?.(this.progress(), this.atRoundEnd());
      if (this.done) break;
      if (options.shouldStop?.()) {
        await checkpoint();
        return { reason: "cancelled", iteration: this.iterationCount };
      }
      if (options.deadline !== undefined && Date.now() >= options.deadline) {
        await checkpoint();
        return { reason: "deadline", iteration: this.iterationCount };
      }
      if (sinceCheckpoint >= every) await checkpoint();
    }
    return { reason: this.converged ? "converged" : "completed", iteration: this.iterationCount };
  }

  /** True when the last step ended a FEATHER_2023 round (ADAM_RANGE_PENALTY has no rounds). */
  private atRoundEnd(): boolean {
    const config = this.setup.config;
    return config.recipe === "FEATHER_2023" && this.iterationCount > 0 && this.iterationCount % config.stepsPerRound === 0;
  }

  progress(): SynthesisProgress {
    return { iteration: this.iterationCount, totalIterations: this.totalIterations, loss: this.lastLossValue ?? NaN };
  }

  /** The loss at the current iterate (one extra gradient evaluation): the metamer's final loss. */
  async evaluateLoss(): Promise<number> {
    const { loss } = await this.setup.gradient.run(this.x, this.setup.target);
    if (!Number.isFinite(loss)) throw nonFinite("loss", loss, this.iterationCount);
    return loss;
  }

  private featherStep(loss: number, grad: Float32Array, config: Feather2023Config): HistoryEntry {
    const stepSize = this.currentStepSize();
    const gradientNorm = l2(grad);
    if (!Number.isFinite(loss)) throw nonFinite("loss", loss, this.iterationCount);
    if (!Number.isFinite(gradientNorm)) throw nonFinite("gradient norm", gradientNorm, this.iterationCount);
    // x <- clamp(x - s * g / (||g|| + 1e-10), lo, hi): a fixed-length step (docs/science.md §2). Each operation is
    // rounded to float32 in the reference's order (g / (||g|| + eps), then * s, then x - ...), as PyTorch's float32
    // tensors do, so trajectories track the reference as long as the dynamics allow.
    const denominator = Math.fround(Math.fround(gradientNorm) + 1e-10);
    const step = Math.fround(stepSize);
    const [lo, hi] = this.setup.range;
    const x = this.x;
    for (let i = 0; i < x.length; i++) {
      const next = Math.fround(x[i] - Math.fround(step * Math.fround(grad[i] / denominator)));
      x[i] = next < lo ? lo : next > hi ? hi : next;
    }
    void config;
    return { iteration: this.iterationCount + 1, loss, gradientNorm, stepSize };
  }

  private adamStep(modelLoss: number, grad: Float32Array, config: AdamRangePenaltyConfig): HistoryEntry {
    const [lo, hi] = this.setup.range;
    const x = this.x;
    const m = this.m!;
    const v = this.v!;
    const lambda = config.rangePenalty;
    // Quadratic penalty outside [lo, hi] instead of a hard clamp (plenoptic's range penalty).
    let penalty = 0;
    for (let i = 0; i < x.length; i++) {
      const over = x[i] > hi ? x[i] - hi : x[i] < lo ? x[i] - lo : 0;
      penalty += over * over;
    }
    const loss = modelLoss + lambda * penalty;
    if (!Number.isFinite(loss)) throw nonFinite("loss", loss, this.iterationCount);
    const t = this.iterationCount + 1;
    const { beta1, beta2, epsilon, learningRate } = config;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    let sumSq = 0;
    for (let i = 0; i < x.length; i++) {
      const over = x[i] > hi ? x[i] - hi : x[i] < lo ? x[i] - lo : 0;
      const g = grad[i] + 2 * lambda * over;
      sumSq += g * g;
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    }
    const gradientNorm = Math.sqrt(sumSq);
    if (!Number.isFinite(gradientNorm)) throw nonFinite("gradient norm", gradientNorm, this.iterationCount);
    for (let i = 0; i < x.length; i++) x[i] -= (learningRate * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon);
    this.recentLosses.push(loss);
    if (this.recentLosses.length > config.stopWindow + 1) this.recentLosses.shift();
    this.converged = hasConverged(this.recentLosses, config);
    return { iteration: t, loss, gradientNorm, stepSize: learningRate };
  }
}

function hasConverged(recent: number[], config: AdamRangePenaltyConfig): boolean {
  if (recent.length <= config.stopWindow) return false;
  const first = recent[0];
  const last = recent[recent.length - 1];
  return Math.abs(first - last) / Math.max(Math.abs(first), 1e-30) < config.stopTolerance;
}

function l2(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

function clampInPlace(x: Float32Array, lo: number, hi: number): void {
  for (let i = 0; i < x.length; i++) x[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

function nonFinite(what: string, value: number, iteration: number): EngineError {
  return new EngineError(
    "NON_FINITE_LOSS",
    `synthesis: the ${what} became ${value} at iteration ${iteration + 1}; expected a finite number (the last checkpoint is kept)`,
    { iteration: iteration + 1 },
  );
}
