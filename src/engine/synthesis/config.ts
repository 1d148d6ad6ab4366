import { EngineError } from "../errors.js";

/**
 * Synthesis configurations. FEATHER_2023 is the paper's recipe and the default (docs/science.md §2): its defaults must stay
 * exactly 8 rounds x 3000 steps with step sizes 1, 1/2, ..., 1/128. ADAM_RANGE_PENALTY is the plenoptic-style
 * alternative (Adam, quadratic penalty outside the input range, stop on a flat loss).
 */
export type Recipe = "FEATHER_2023" | "ADAM_RANGE_PENALTY";
export type SynthesisLoss = "normalizedL2" | "mse";

export interface Feather2023Config {
  recipe: "FEATHER_2023";
  rounds: number;
  stepsPerRound: number;
  /** Step length of the first round; halved after every round. */
  initialStep: number;
  /** Record one history entry every this many steps (plus the first and the last step). */
  historyEvery: number;
}

export interface AdamRangePenaltyConfig {
  recipe: "ADAM_RANGE_PENALTY";
  loss: SynthesisLoss;
  maxSteps: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Weight of the quadratic penalty sum(max(0, x - hi)^2 + max(0, lo - x)^2). */
  rangePenalty: number;
  /** Stop when |loss(t - window) - loss(t)| / loss(t - window) falls below stopTolerance. */
  stopWindow: number;
  stopTolerance: number;
  historyEvery: number;
}

export type SynthesisConfig = Feather2023Config | AdamRangePenaltyConfig;

export const FEATHER_2023_DEFAULTS: Feather2023Config = Object.freeze({
  recipe: "FEATHER_2023",
  rounds: 8,
  stepsPerRound: 3000,
  initialStep: 1,
  historyEvery: 100,
}) as Feather2023Config;

export const ADAM_RANGE_PENALTY_DEFAULTS: AdamRangePenaltyConfig = Object.freeze({
  recipe: "ADAM_RANGE_PENALTY",
  loss: "normalizedL2",
  maxSteps: 3000,
  learningRate: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  rangePenalty: 0.1,
  stopWindow: 50,
  stopTolerance: 1e-4,
  historyEvery: 100,
}) as AdamRangePenaltyConfig;

/** The default cap on gradient steps per (stimulus, stage); the paper's 24,000 fits under it. */
export const DEFAULT_MAX_TOTAL_STEPS = 50_000;

type Nullable<T> = { [K in keyof T]?: T[K] | null };
/** What a caller may send: any subset of either recipe's settings (null = default). */
export type SynthesisConfigInput = Nullable<Omit<Feather2023Config, "recipe">> &
  Nullable<Omit<AdamRangePenaltyConfig, "recipe">> & { recipe?: Recipe | null };

/** Total gradient steps a config may take (the progress denominator). */
export function totalSteps(config: SynthesisConfig): number {
  return config.recipe === "FEATHER_2023" ? config.rounds * config.stepsPerRound : config.maxSteps;
}

/**
 * Fills in the recipe's defaults and checks every field, reporting all problems at once as BAD_USER_INPUT
 * (`config.rounds: expected a positive integer, got 0`). Fields of the other recipe are rejected rather than ignored,
 * so a typo'd schedule cannot silently fall back to a default.
 */
export function resolveSynthesisConfig(
  input: SynthesisConfigInput = {},
  options: { maxTotalSteps?: number; path?: string } = {},
): SynthesisConfig {
  const path = options.path ?? "config";
  const maxTotal = options.maxTotalSteps ?? DEFAULT_MAX_TOTAL_STEPS;
  const recipe = input.recipe ?? "FEATHER_2023";
  const issues: string[] = [];
  if (recipe !== "FEATHER_2023" && recipe !== "ADAM_RANGE_PENALTY") {
    throw new EngineError("INVALID_ARGUMENT", `${path}.recipe: expected FEATHER_2023 or ADAM_RANGE_PENALTY, got ${String(recipe)}`);
  }
  const defaults: SynthesisConfig = recipe === "FEATHER_2023" ? FEATHER_2023_DEFAULTS : ADAM_RANGE_PENALTY_DEFAULTS;
  const known = new Set(Object.keys(defaults));
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && value !== null && !known.has(key)) {
      issues.push(`${path}.${key}: not a setting of recipe ${recipe} (its settings: ${[...known].filter((k) => k !== "recipe").join(", ")})`);
    }
  }
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) if (value !== undefined && value !== null && known.has(key)) merged[key] = value;

  const positiveInt = (key: string) => {
    const v = merged[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) issues.push(`${path}.${key}: expected a positive integer, got ${fmt(v)}`);
  };
  const positiveNumber = (key: string) => {
    const v = merged[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) issues.push(`${path}.${key}: expected a finite number > 0, got ${fmt(v)}`);
  };
  const nonNegative = (key: string) => {
    const v = merged[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) issues.push(`${path}.${key}: expected a finite number >= 0, got ${fmt(v)}`);
  };
  const unitInterval = (key: string) => {
    const v = merged[key];
    if (typeof v !== "number" || !(v >= 0 && v < 1)) issues.push(`${path}.${key}: expected a number in [0, 1), got ${fmt(v)}`);
  };

  positiveInt("historyEvery");
  if (recipe === "FEATHER_2023") {
    positiveInt("rounds");
    positiveInt("stepsPerRound");
    positiveNumber("initialStep");
  } else {
    positiveInt("maxSteps");
    positiveNumber("learningRate");
    unitInterval("beta1");
    unitInterval("beta2");
    positiveNumber("epsilon");
    nonNegative("rangePenalty");
    positiveInt("stopWindow");
    nonNegative("stopTolerance");
    if (merged.loss !== "normalizedL2" && merged.loss !== "mse") issues.push(`${path}.loss: expected normalizedL2 or mse, got ${fmt(merged.loss)}`);
  }
  if (issues.length === 0) {
    const total = totalSteps(merged as unknown as SynthesisConfig);
    if (total > maxTotal) {
      issues.push(`${path}: the schedule takes ${total} gradient steps, more than the cap of ${maxTotal} (METAMERS_MAX_STEPS)`);
    }
  }
  if (issues.length > 0) throw new EngineError("INVALID_ARGUMENT", issues.join("; "), { issues });
  return merged as unknown as SynthesisConfig;
}

function fmt(v: unknown): string {
  if (typeof v === "number") return String(v);
  return JSON.stringify(v) ?? String(v);
}
