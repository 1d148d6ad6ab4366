import { AppError } from "../errors.js";

/**
 * The one table of count limits of the API (README "Limits"). Every Int argument and Int input field of the GraphQL
 * schema maps to one row here (ARGUMENT_LIMITS, checked before execution by src/graphql/limits-plugin.ts; a test
 * fails when an Int argument has no row), and the services check the same rows again for callers that do not come
 * through GraphQL. Bounds are set so that the most expensive allowed value of one query takes well under a second
 * of one statistics thread (docs/science.md: the paper uses 1,000 resamples and 10,000 permutations).
 */
export interface CountLimit {
  min: number;
  max: number;
  /** What the count is, for messages and the README table. */
  what: string;
}

export const COUNT_LIMITS = {
  resamples: { min: 2, max: 10_000, what: "bootstrap resamples" },
  permutations: { min: 1, max: 100_000, what: "random relabellings of a permutation test" },
  seed: { min: 0, max: 2_147_483_647, what: "a random seed" },
  pageFirst: { min: 1, max: 500, what: "items of one connection page" },
  jobsFirst: { min: 1, max: 1_000, what: "jobs of one batch page" },
  jobsOffset: { min: 0, max: 1_000_000, what: "jobs skipped before the page" },
  rounds: { min: 1, max: 1_000, what: "synthesis rounds" },
  steps: { min: 1, max: 1_000_000, what: "gradient steps (the total is also capped by METAMERS_MAX_STEPS)" },
  sampleRate: { min: 1, max: 768_000, what: "samples per second" },
  inputDim: { min: 1, max: 65_536, what: "one dimension of an input shape" },
} as const satisfies Record<string, CountLimit>;

export type CountLimitName = keyof typeof COUNT_LIMITS;

/**
 * GraphQL coordinate (`Type.field.argument` for arguments, `InputType.field` for input fields) -> its limit. For a
 * list of Ints ([Int]) the limit applies to every element.
 */
export const ARGUMENT_LIMITS: Record<string, CountLimitName> = {
  "Query.recognizability.resamples": "resamples",
  "Query.recognizability.seed": "seed",
  "Query.idiosyncrasy.resamples": "resamples",
  "Query.idiosyncrasy.seed": "seed",
  "Query.compareRecognizability.permutations": "permutations",
  "Query.compareRecognizability.seed": "seed",
  "Query.humanVsModel.permutations": "permutations",
  "Query.humanVsModel.seed": "seed",
  "Query.models.first": "pageFirst",
  "Query.stimulusSets.first": "pageFirst",
  "StimulusSet.stimuli.first": "pageFirst",
  "SynthesisBatch.jobs.first": "jobsFirst",
  "SynthesisBatch.jobs.offset": "jobsOffset",
  "SynthesizeMetamersInput.seed": "seed",
  "SynthesisConfigInput.rounds": "rounds",
  "SynthesisConfigInput.stepsPerRound": "steps",
  "SynthesisConfigInput.historyEvery": "steps",
  "SynthesisConfigInput.maxSteps": "steps",
  "SynthesisConfigInput.stopWindow": "steps",
  "CreateStimulusSetInput.sampleRate": "sampleRate",
  "RegisterModelInput.sampleRate": "sampleRate",
  "AddStimuliInput.inputShape": "inputDim",
};

/**
 * Throws BAD_USER_INPUT unless `value` is an integer within the named limit; the message names the argument, the
 * bounds and what arrived (`resamples: expected an integer from 2 to 10000 (bootstrap resamples), got 300000000`).
 */
export function checkCount(argument: string, value: unknown, name: CountLimitName): number {
  const limit: CountLimit = COUNT_LIMITS[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < limit.min || value > limit.max) {
    throw new AppError(
      "BAD_USER_INPUT",
      `${argument}: expected an integer from ${limit.min} to ${limit.max} (${limit.what}), got ${formatValue(value)}`,
      { argument, min: limit.min, max: limit.max },
    );
  }
  return value;
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return String(value);
}
