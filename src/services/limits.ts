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
  nullPairs: { min: 1, max: 1_000_000, what: "pairs of a reference null distribution" },
  entityRepresentations: { min: 0, max: 1_000, what: "entity references of one federation _entities call" },
  experimentTrials: { min: 0, max: 200, what: "practice, demo, catch or headphone-check trials of an experiment" },
  experimentParticipants: { min: 1, max: 1_000, what: "participant links of one experiment" },
  durationMs: { min: 0, max: 10_000, what: "a duration in milliseconds" },
  pairedDifferences: { min: 1, max: 100_000, what: "paired differences of one pairedDifferenceTest" },
  attackSteps: { min: 1, max: 1_000, what: "PGD steps of a robustness evaluation" },
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
  "Query.pairedDifferenceTest.permutations": "permutations",
  "Query.pairedDifferenceTest.resamples": "resamples",
  "Query.pairedDifferenceTest.seed": "seed",
  "Query.models.first": "pageFirst",
  "Query.stimulusSets.first": "pageFirst",
  "Query.recognizerPanels.first": "pageFirst",
  "Query.metamers.first": "pageFirst",
  "Query.synthesisBatches.first": "pageFirst",
  "MetamerFilter.seeds": "seed",
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
  "SynthesizeMetamersInput.seeds": "seed",
  "NullSourceInput.n": "nullPairs",
  "NullSourceInput.seed": "seed",
  "CreateReferenceNullInput.n": "nullPairs",
  "CreateReferenceNullInput.seed": "seed",
  "Query.referenceNulls.first": "pageFirst",
  "Query.metamerTargets.first": "pageFirst",
  "Query.experiments.first": "pageFirst",
  "CreateExperimentInput.participants": "experimentParticipants",
  "CreateExperimentInput.practiceTrials": "experimentTrials",
  "CreateExperimentInput.demoTrials": "experimentTrials",
  "CreateExperimentInput.minDemoCorrect": "experimentTrials",
  "CreateExperimentInput.catchTrials": "experimentTrials",
  "CreateExperimentInput.headphoneTrials": "experimentTrials",
  "CreateExperimentInput.headphoneMinCorrect": "experimentTrials",
  "CreateExperimentInput.seed": "seed",
  "ExperimentTimingInput.fixationMs": "durationMs",
  "ExperimentTimingInput.stimulusMs": "durationMs",
  "ExperimentTimingInput.maskMs": "durationMs",
  "ExperimentTimingInput.practiceFixationMs": "durationMs",
  "ExperimentTimingInput.practiceStimulusMs": "durationMs",
  "ExperimentTimingInput.practiceMaskMs": "durationMs",
  "ExperimentTimingInput.clipMs": "durationMs",
  "Query.groups.first": "pageFirst",
  "Query.shares.first": "pageFirst",
  "EvaluateRobustnessInput.steps": "attackSteps",
  "EvaluateRobustnessInput.seed": "seed",
  "Query.robustness.first": "pageFirst",
};

// A hub's federation namespace (`labA { models(first: 10) { ... } }`: src/graphql/federation/subgraph.ts) answers every
// Query and Mutation field again under the types HubQuery and HubMutation; the same limits hold there.
for (const [coordinate, name] of Object.entries(ARGUMENT_LIMITS)) {
  const [type, ...rest] = coordinate.split(".");
  const namespace = ({ Query: "HubQuery", Mutation: "HubMutation" } as Record<string, string>)[type];
  if (namespace) ARGUMENT_LIMITS[[namespace, ...rest].join(".")] = name;
}

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
