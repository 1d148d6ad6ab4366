import type { ExperimentRecord, ParticipantRecord, ResponseRecord } from "../../store/experiments.js";
import { type Cell, toCsv } from "../metrics/export.js";
import { NATURAL } from "./design.js";
import { conditionScores } from "./scoring.js";
import type { StoredDesign, StoredTrial } from "./types.js";

/**
 * An experiment's results as tables: every answered trial with its hidden condition (trial level), and per participant
 * x condition the proportion correct (aggregate; excluded participants are listed with their reason and no scores
 * enter the study). The HumanScore rows (results.ts) are what the metrics read; these tables are for the lab's own
 * analyses and are written from the same stored trials and answers.
 */

export const TRIAL_COLUMNS = [
  "participant", "status", "trial_index", "phase", "condition", "model_id", "stage", "stimulus_id", "metamer_id", "shown_natural", "fallback",
  "correct_label", "response", "correct", "rt_ms", "onset_ms", "offset_ms", "stimulus_frames", "refresh_hz",
];

export const AGGREGATE_COLUMNS = ["participant", "status", "exclusion_reason", "condition", "model_id", "stage", "n", "n_correct", "proportion_correct"];

export interface ResultTables {
  trials: { columns: string[]; rows: Cell[][] };
  aggregate: { columns: string[]; rows: Cell[][] };
}

export function resultTables(experiment: ExperimentRecord, participants: ParticipantRecord[], responses: ResponseRecord[]): ResultTables {
  const design = experiment.design as unknown as StoredDesign;
  const byParticipant = new Map<string, ResponseRecord[]>();
  for (const r of responses) (byParticipant.get(r.participantId) ?? byParticipant.set(r.participantId, []).get(r.participantId)!).push(r);
  const trialRows: Cell[][] = [];
  const aggregateRows: Cell[][] = [];
  for (const p of participants) {
    const trials = p.trials as StoredTrial[];
    const answers = byParticipant.get(p.id) ?? [];
    for (const r of answers) {
      const t = trials[r.trialIndex];
      trialRows.push([
        p.label, p.status, t.index, t.phase, t.condition, t.modelId, t.stage, t.stimulusId, t.metamerId, t.shownNatural, t.fallback,
        t.correctLabel, r.response, r.correct, r.rtMs, r.onsetMs, r.offsetMs, r.frames, r.refreshHz,
      ]);
    }
    const scores = conditionScores(trials, answers);
    for (const c of design.conditions) {
      const s = scores.get(c.condition);
      aggregateRows.push([
        p.label, p.status, p.exclusionReason, c.condition, c.modelId, c.modelId === null ? NATURAL : c.stage,
        s?.n ?? 0, s?.correct ?? 0, s && s.n > 0 ? s.correct / s.n : null,
      ]);
    }
  }
  return { trials: { columns: TRIAL_COLUMNS, rows: trialRows }, aggregate: { columns: AGGREGATE_COLUMNS, rows: aggregateRows } };
}

export const tablesAsCsv = (t: ResultTables) => ({ trialsCsv: toCsv(t.trials.columns, t.trials.rows), aggregateCsv: toCsv(t.aggregate.columns, t.aggregate.rows) });
