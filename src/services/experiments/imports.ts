import { AppError } from "../../errors.js";
import type { ExperimentRecord, NewResponse, ParticipantRecord } from "../../store/experiments.js";
import type { Store } from "../../store/store.js";
import { parseCsv } from "./csv.js";
import { writeParticipantScores } from "./results.js";
import { evaluateCompletion } from "./scoring.js";
import type { StoredDesign, StoredTrial } from "./types.js";

/**
 * Trial data of an experiment run elsewhere (the lab ran the hub's trial lists in its own jsPsych or PsychoJS build):
 * a jsPsych data export (JSON or CSV as `jsPsych.data.get().csv()` writes it) or a PsychoJS/Pavlovia CSV. Each trial
 * row names the participant (its label p1, p2, ..., its id, or its Prolific id), the trial's index in that
 * participant's list, the answer and the reaction time; rows without a trial index (instructions, fullscreen, ...) are
 * not trials and are skipped. Every row is checked before anything is written: a bad file is refused with the row and
 * column, and nothing is half-imported. The answers then go through the same decisions as posted ones (screening,
 * catch trials, completeness: scoring.ts) and the same results (results.ts).
 */

export type ImportFormat = "JSPSYCH_JSON" | "JSPSYCH_CSV" | "PSYCHOJS_CSV";

export interface ImportColumns {
  participant?: string | null;
  trialIndex?: string | null;
  response?: string | null;
  rt?: string | null;
  onsetMs?: string | null;
  offsetMs?: string | null;
  stimulusFrames?: string | null;
  refreshHz?: string | null;
}

export interface ImportOptions {
  format: ImportFormat;
  data: string;
  columns?: ImportColumns | null;
  /** The response column holds the 0-based index of the button pressed (jsPsych button responses), not the label. */
  responseAsIndex?: boolean | null;
  /** Unit of the rt column: jsPsych writes ms, PsychoJS seconds. */
  rtUnit?: "MS" | "S" | null;
}

export interface ImportSummary {
  participants: number;
  responses: number;
  completed: number;
  excluded: number;
  skippedRows: number;
}

const REQUIRED = ["participant", "trialIndex", "response", "rt"] as const;
type Field = keyof ImportColumns;

/** Our page's trial fields (jsPsych) and PsychoJS Builder's usual names (a keyboard component called key_resp). */
export const DEFAULT_COLUMNS: Record<"JSPSYCH" | "PSYCHOJS", Required<{ [K in Field]: string }>> = {
  JSPSYCH: { participant: "participant", trialIndex: "trialIndex", response: "response", rt: "rt", onsetMs: "onsetMs", offsetMs: "offsetMs", stimulusFrames: "stimulusFrames", refreshHz: "refreshHz" },
  PSYCHOJS: { participant: "participant", trialIndex: "trialIndex", response: "key_resp.keys", rt: "key_resp.rt", onsetMs: "onsetMs", offsetMs: "offsetMs", stimulusFrames: "stimulusFrames", refreshHz: "refreshHz" },
};

const MAX_BYTES = 50 * 1024 * 1024;

interface Row {
  where: string;
  get(column: string): string | undefined;
}

function rowsOf(format: ImportFormat, data: string): { rows: Row[]; columns: Set<string>; unit: string } {
  if (data.length > MAX_BYTES) throw new AppError("PAYLOAD_TOO_LARGE", `data: at most ${MAX_BYTES} characters, got ${data.length}`);
  if (format === "JSPSYCH_JSON") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (e) {
      throw new AppError("BAD_USER_INPUT", `data: expected jsPsych's JSON export (an array of trial objects), got text that is not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new AppError("BAD_USER_INPUT", `data: expected a JSON array of trial objects, got ${parsed === null ? "null" : typeof parsed}`);
    const columns = new Set<string>();
    const rows = parsed.map((o, k): Row => {
      if (typeof o !== "object" || o === null || Array.isArray(o)) throw new AppError("BAD_USER_INPUT", `record ${k + 1}: expected an object of trial fields, got ${Array.isArray(o) ? "an array" : typeof o}`);
      const rec = o as Record<string, unknown>;
      for (const c of Object.keys(rec)) columns.add(c);
      return {
        where: `record ${k + 1}`,
        get: (c) => {
          const v = rec[c];
          return v === undefined || v === null ? undefined : typeof v === "object" ? JSON.stringify(v) : String(v);
        },
      };
    });
    return { rows, columns, unit: "field" };
  }
  const table = parseCsv(data, "data");
  return { rows: table.rows.map((r) => ({ where: `row ${r.line}`, get: (c) => r.cells.get(c) })), columns: new Set(table.header), unit: "column" };
}

const bad = (where: string, unit: string, column: string, message: string) => new AppError("BAD_USER_INPUT", `${where}, ${unit} '${column}': ${message}`);
const normalize = (s: string) => s.trim().toLowerCase();

/** Checks and imports; returns what was written. `experiment` belongs to the caller's group (checked by the caller). */
export async function importResponses(store: Store, experiment: ExperimentRecord, options: ImportOptions): Promise<ImportSummary> {
  const family = options.format === "PSYCHOJS_CSV" ? "PSYCHOJS" : "JSPSYCH";
  const columns = { ...DEFAULT_COLUMNS[family], ...Object.fromEntries(Object.entries(options.columns ?? {}).filter(([, v]) => v)) } as Record<Field, string>;
  const rtScale = (options.rtUnit ?? (family === "PSYCHOJS" ? "S" : "MS")) === "S" ? 1000 : 1;
  const { rows, columns: present, unit } = rowsOf(options.format, options.data);
  for (const f of REQUIRED) {
    if (!present.has(columns[f])) {
      throw new AppError("BAD_USER_INPUT", `columns.${f}: the ${unit} '${columns[f]}' is not in the file (it has: ${[...present].slice(0, 30).join(", ")}); name it with the column mapping`);
    }
  }
  const participants = await store.experiments.participants(experiment.id);
  const byName = new Map<string, ParticipantRecord>();
  for (const p of participants) {
    byName.set(p.label, p);
    byName.set(p.id, p);
    if (p.prolificPid) byName.set(p.prolificPid, p);
  }
  const answered = await store.experiments.answeredCounts(experiment.id);
  const newRows = new Map<string, NewResponse[]>();
  const seen = new Set<string>();
  let skippedRows = 0;
  for (const row of rows) {
    const indexText = row.get(columns.trialIndex)?.trim();
    if (indexText === undefined || indexText === "" || indexText === "null") {
      skippedRows++;
      continue;
    }
    const name = row.get(columns.participant)?.trim() ?? "";
    const p = byName.get(name);
    if (!p) throw bad(row.where, unit, columns.participant, `expected a participant of this experiment (p1..p${participants.length}, a participant id or a Prolific id), got '${name.slice(0, 60)}'`);
    if (p.completedAt || (answered.get(p.id) ?? 0) > 0) {
      throw bad(row.where, unit, columns.participant, `participant ${p.label} already has answers in the hub (status ${p.status}); import only participants whose links were not used`);
    }
    const trials = p.trials as StoredTrial[];
    const trialIndex = Number(indexText);
    if (!Number.isInteger(trialIndex) || trialIndex < 0 || trialIndex >= trials.length) {
      throw bad(row.where, unit, columns.trialIndex, `expected an integer from 0 to ${trials.length - 1} (the trial's index in ${p.label}'s list), got '${indexText.slice(0, 40)}'`);
    }
    if (seen.has(`${p.id}|${trialIndex}`)) throw bad(row.where, unit, columns.trialIndex, `trial ${trialIndex} of ${p.label} appears a second time`);
    seen.add(`${p.id}|${trialIndex}`);
    const trial = trials[trialIndex];
    const raw = row.get(columns.response)?.trim() ?? "";
    let option: string | undefined;
    if (options.responseAsIndex) {
      const k = Number(raw);
      option = raw !== "" && Number.isInteger(k) ? trial.options[k] : undefined;
      if (option === undefined) throw bad(row.where, unit, columns.response, `expected the index of the button pressed, 0 to ${trial.options.length - 1}, got '${raw.slice(0, 40)}'`);
    } else {
      option = trial.options.find((o) => normalize(o) === normalize(raw));
      if (option === undefined) throw bad(row.where, unit, columns.response, `expected one of trial ${trialIndex}'s options (${trial.options.slice(0, 20).join(", ")}), got '${raw.slice(0, 60)}'`);
    }
    const number = (field: Field, required: boolean, scale = 1): number => {
      const text = row.get(columns[field])?.trim();
      if (text === undefined || text === "") {
        if (required) throw bad(row.where, unit, columns[field], "expected a number, got nothing");
        return 0;
      }
      const v = Number(text);
      if (!Number.isFinite(v) || (field !== "onsetMs" && field !== "offsetMs" && v < 0)) throw bad(row.where, unit, columns[field], `expected a ${field === "onsetMs" || field === "offsetMs" ? "" : "non-negative "}number, got '${text.slice(0, 40)}'`);
      return v * scale;
    };
    const frames = number("stimulusFrames", false);
    if (!Number.isInteger(frames)) throw bad(row.where, unit, columns.stimulusFrames, `expected a whole number of frames, got ${frames}`);
    const response: NewResponse = {
      participantId: p.id, trialIndex, response: option, correct: option === trial.correctLabel,
      rtMs: number("rt", true, rtScale), onsetMs: number("onsetMs", false), offsetMs: number("offsetMs", false), frames, refreshHz: number("refreshHz", false),
    };
    (newRows.get(p.id) ?? newRows.set(p.id, []).get(p.id)!).push(response);
  }
  if (newRows.size === 0) throw new AppError("BAD_USER_INPUT", `data: no trial rows (rows with a '${columns.trialIndex}' value) in the file`);

  return store.transaction(
    async (tx) => {
      let completed = 0;
      let excluded = 0;
      let count = 0;
      const now = new Date();
      for (const [id, responses] of newRows) {
        // Re-read under the row lock: a link used between the check above and now is not overwritten.
        const p = (await tx.experiments.lockParticipant(id))!;
        if (p.completedAt || (await tx.experiments.answeredIndices(id)).length > 0) {
          throw new AppError("CONFLICT", `participant ${p.label} received answers through the hub while the file was being checked; nothing was imported`);
        }
        count += await tx.experiments.insertResponses(responses);
        const reason = evaluateCompletion(experiment.design as unknown as StoredDesign, p.trials as StoredTrial[], responses);
        await tx.experiments.markStarted(id, { pid: null, studyId: null, sessionId: null });
        await tx.experiments.setStatus(id, reason === null ? "COMPLETED" : "EXCLUDED", reason, now);
        if (reason === null) {
          completed++;
          await writeParticipantScores(tx, experiment, { ...p, status: "COMPLETED" }, responses);
        } else excluded++;
      }
      return { participants: newRows.size, responses: count, completed, excluded, skippedRows };
    },
    { timeoutMs: 120_000 },
  );
}

const PROLIFIC_ID_COLUMNS = ["Participant id", "Participant ID", "participant_id", "PROLIFIC_PID"];

/**
 * A Prolific demographic export joined on the participants' Prolific ids (kept from the PROLIFIC_PID parameter, or a
 * participant's label): each matched participant gets the row's other columns as its demographics. Rows of people
 * who never reached the hub (returned, timed out) are counted as unmatched, not refused.
 */
export async function importDemographics(store: Store, experiment: ExperimentRecord, csv: string): Promise<{ matched: number; unmatched: number }> {
  const table = parseCsv(csv, "csv");
  const idColumn = PROLIFIC_ID_COLUMNS.find((c) => table.header.includes(c));
  if (!idColumn) throw new AppError("BAD_USER_INPUT", `csv row 1: expected a participant id column (${PROLIFIC_ID_COLUMNS.join(", ")}), got the columns ${table.header.slice(0, 20).join(", ")}`);
  const participants = await store.experiments.participants(experiment.id);
  const byName = new Map<string, ParticipantRecord>();
  for (const p of participants) {
    byName.set(p.label, p);
    if (p.prolificPid) byName.set(p.prolificPid, p);
  }
  const updates = new Map<string, Record<string, string>>();
  let unmatched = 0;
  for (const r of table.rows) {
    const id = r.cells.get(idColumn)!.trim();
    if (id === "") throw new AppError("BAD_USER_INPUT", `csv row ${r.line}, column '${idColumn}': expected a participant id, got nothing`);
    const p = byName.get(id);
    if (!p) {
      unmatched++;
      continue;
    }
    if (updates.has(p.id)) throw new AppError("BAD_USER_INPUT", `csv row ${r.line}, column '${idColumn}': participant '${id}' appears a second time`);
    updates.set(p.id, Object.fromEntries([...r.cells].filter(([k]) => k !== idColumn)));
  }
  await store.transaction((tx) => tx.experiments.setDemographics([...updates].map(([id, demographics]) => ({ id, demographics }))));
  return { matched: updates.size, unmatched };
}
