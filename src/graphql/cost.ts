import { getNamedType, isLeafType, type GraphQLField } from "graphql";
import type { ComplexityEstimator } from "graphql-query-complexity";
import { DEFAULT_PAGE } from "../services/inputs.js";

/**
 * What a query costs (README "Limits"): a leaf field 0, an object field 1 plus its selection, a page of a list its
 * page size times its selection, and a statistic its work. Cost units are about a millisecond of one statistics
 * thread for the statistics (bootstrap resamples x 0.4, permutations x 0.04: the largest allowed run of either costs
 * 4,000), so the default maximum of 10,000 admits two of the heaviest statistics in one request but not three, and
 * pages of up to a few thousand objects.
 */
type Args = Record<string, unknown>;
type Cost = (args: Args, child: number) => number;

const num = (v: unknown, fallback: number) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const len = (v: unknown) => (Array.isArray(v) ? v.length : 1);
/** A page: the selection once per item (at least one, so an empty page still costs its selection). */
const page = (fallback: number): Cost => (args, child) => 1 + Math.max(1, num(args.first, fallback)) * Math.max(1, child);

export const FIELD_COSTS: Record<string, Cost> = {
  "Query.models": page(DEFAULT_PAGE),
  "Query.stimulusSets": page(DEFAULT_PAGE),
  "StimulusSet.stimuli": page(DEFAULT_PAGE),
  "SynthesisBatch.jobs": page(1000),
  // A gateway's batch of entity references: the selection once per reference.
  "Query._entities": (a, child) => 1 + len(a.representations) * Math.max(1, child),
  "Query.recognizability": (a, child) => 10 + Math.ceil(num(a.resamples, 1000) * 0.4) + child,
  "Query.idiosyncrasy": (a, child) => 10 + Math.ceil(num(a.resamples, 1000) * 0.4) + child,
  "Query.compareRecognizability": (a, child) => 10 + Math.ceil(num(a.permutations, 10_000) * 0.04) + child,
  "Query.humanVsModel": (a, child) => 10 + Math.ceil(num(a.permutations, 10_000) * 0.04) + child,
  // Each sign flip and each resample touches every difference: 250,000 of those a cost unit (about a millisecond).
  "Query.pairedDifferenceTest": (a, child) =>
    10 + Math.ceil(((num(a.permutations, 10_000) + num(a.resamples, 1000)) * len(a.differences)) / 250_000) + child,
  "Query.recognizabilityCurve": (_a, child) => 10 + child,
  // One cell per (generator, recognizer) pair, computed in SQL; without recognizerIds (a panel, or every recognizer with
  // results) as many recognizers as a panel may hold.
  "Query.crossModelMatrix": (a, child) =>
    10 + Math.ceil((len(a.generatorIds) * (Array.isArray(a.recognizerIds) ? a.recognizerIds.length : 200) * Math.max(1, child)) / 10),
  "Query.recognizerPanels": page(100),
  "Query.metamers": page(DEFAULT_PAGE),
  "Query.synthesisBatches": page(DEFAULT_PAGE),
};

// The same costs under a hub's federation namespace types (src/graphql/federation/subgraph.ts): `labA { models }`.
for (const [coordinate, cost] of Object.entries(FIELD_COSTS)) {
  if (coordinate.startsWith("Query.")) FIELD_COSTS[`HubQuery.${coordinate.slice("Query.".length)}`] = cost;
}

export function defaultCost(field: GraphQLField<unknown, unknown>, child: number): number {
  return isLeafType(getNamedType(field.type)) ? 0 : 1 + child;
}

/** The estimator for getComplexity: the table above, else the default; `onField` sees every field with its arguments. */
export function costEstimator(onField?: (typeName: string, field: GraphQLField<unknown, unknown>, args: Args) => void): ComplexityEstimator {
  return ({ type, field, args, childComplexity }) => {
    onField?.(type.name, field, args);
    const cost = FIELD_COSTS[`${type.name}.${field.name}`];
    return cost ? cost(args, childComplexity) : defaultCost(field, childComplexity);
  };
}
