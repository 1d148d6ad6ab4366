import { DEFAULT_PERMUTATIONS } from "../../engine/index.js";
import { AppError } from "../../errors.js";
import type { Store } from "../../store/store.js";
import { type Caller, requireRole, statsOwner } from "../authorization.js";
import { checkCount } from "../limits.js";
import { completeSubjects, subjectTable } from "../metrics/subjects.js";
import type { PermutationTestSummary } from "../metrics/types.js";
import type { StatsRunner } from "../stats-pool.js";

export interface HumanVsModelArgs {
  modelId: string;
  /** One experiment of the imported study (its `experiment` column); null or absent: participants of every experiment. */
  experiment?: string | null;
  permutations?: number;
  seed?: number;
}

export interface HumanVsModelSummary extends PermutationTestSummary {
  experiment: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Experiment names are short labels of the imported files ("3", "exp_1"); longer is a mistake, not a name. */
const MAX_EXPERIMENT_LENGTH = 100;

/**
 * Humans vs the generating model (observer x stage), as the paper's authors test it (docs/science.md §4): a mixed
 * ANOVA with observer BETWEEN subjects (each participant contributes a human row and a network row, the network scored
 * on exactly the stimuli that participant saw) and stage within, with the authors' permutation scheme
 * (engine `permutationObserverMixed`, run in a statistics process). Participants are (experiment, participant)
 * pairs: participants are not linked across the released files. Stages: every stage (natural stimuli included, as the
 * authors do) that both observers have; participants missing a stage are left out.
 */
export async function humanVsModel(store: Store, stats: StatsRunner, caller: Caller, args: HumanVsModelArgs): Promise<HumanVsModelSummary> {
  const ctx = requireRole(caller, "READER");
  const permutations = checkCount("permutations", args.permutations ?? DEFAULT_PERMUTATIONS, "permutations");
  const seed = checkCount("seed", args.seed ?? 0, "seed");
  const experiment = args.experiment ?? null;
  if (experiment !== null && (experiment.length === 0 || experiment.length > MAX_EXPERIMENT_LENGTH)) {
    throw new AppError("BAD_USER_INPUT", `experiment: expected an experiment name of 1 to ${MAX_EXPERIMENT_LENGTH} characters, got ${experiment.length} characters`);
  }
  if (!UUID.test(args.modelId)) throw new AppError("BAD_USER_INPUT", `modelId: expected a model id (a UUID), got '${args.modelId}'`);
  const model = await store.models.findVisible(ctx.groupId, args.modelId);
  if (!model) throw new AppError("NOT_FOUND", `modelId: no model with id '${args.modelId}' is visible to this group`);

  const all = await store.metrics.participantRows([model.id]);
  const rows = experiment === null ? all : all.filter((r) => r.experiment === experiment);
  if (rows.length === 0 && experiment !== null) {
    const known = [...new Set(all.map((r) => r.experiment))].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    throw new AppError(
      "BAD_USER_INPUT",
      `experiment: model '${model.name}' has no scores in experiment '${experiment}'; its experiments: ${known.join(", ") || "none (import a study first)"}`,
    );
  }
  const human = subjectTable(rows.filter((r) => r.observer === "HUMAN"));
  const network = subjectTable(rows.filter((r) => r.observer === "NETWORK"));
  const stages = human.stages.filter((s) => network.stages.includes(s));
  const h = completeSubjects(human, stages);
  const n = completeSubjects(network, stages);
  const subjects = [...h.keys()].filter((k) => n.has(k));
  if (subjects.length < 2 || stages.length < 1) {
    throw new AppError(
      "BAD_USER_INPUT",
      `modelId: humanVsModel needs at least 2 participants with human and network scores at the same stages for model '${model.name}'${experiment === null ? "" : ` in experiment '${experiment}'`}, found ${subjects.length}`,
    );
  }
  const groups = [subjects.map((k) => h.get(k)!), subjects.map((k) => n.get(k)!)];
  const result = await stats.run("permutationObserverMixed", { groups, permutations, seed }, statsOwner(ctx));
  return { design: "MIXED", factor: result.a, stage: result.b, interaction: result.ab, stages, subjects: subjects.length, permutations, seed, experiment };
}
