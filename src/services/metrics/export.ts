import { AppError } from "../../errors.js";
import type { Store } from "../../store/store.js";
import { type Caller, requireReader, requireReaderContext } from "../authorization.js";
import { type PanelArgs, resolveSelection, type SelectionArgs } from "./selection.js";
import type { CurveArgs, CurvePoint, Idiosyncrasy, IdiosyncrasyArgs, MatrixArgs, MatrixCellResult, Observer, StudyModality } from "./types.js";

/**
 * Bulk tables for scripts (GET /export/<name>.csv), so nobody pages through thousands of GraphQL rows.
 * Each table: a fixed header (documented in EXPORT_TABLES) and one row per record, in a stable order.
 */

export type Cell = string | number | boolean | null;

export interface ExportTable {
  filename: string;
  columns: string[];
  rows: Cell[][];
}

/** The result-source parameters every result table takes (the GraphQL queries' batchIds, configHash, poolConfigurations, panelId). */
const SOURCE_PARAMS = "[&batchIds=<id,...>|&configHash=<hash>][&poolConfigurations=true][&panelId=<id>]";

/** Several configurations (or recognizers) in one CSV field: separated by spaces. */
const joined = (values: string[]) => values.join(" ");

export const EXPORT_TABLES: Record<string, { params: string; columns: string[]; description: string }> = {
  "cross-model-matrix": {
    params: `generatorIds=<id,id,...>[&recognizerIds=<id,id,...>][&stage=<tensor or label>|FINAL]${SOURCE_PARAMS}`,
    columns: ["generator_id", "recognizer_id", "stage", "n", "accuracy", "stage_label", "config_hashes"],
    description: "the crossModelMatrix query: one row per (generator, recognizer) cell with data",
  },
  "recognizability-curve": {
    params: `modelId=<id>&observer=HUMAN|GENERATOR|OTHER_MODELS|MODEL[&recognizerId=<id>]${SOURCE_PARAMS}`,
    columns: ["model_id", "observer", "stage", "order", "natural", "mean", "sem", "n", "stage_label", "recognizers", "config_hashes"],
    description: "the recognizabilityCurve query: one row per stage, natural stimuli first (recognizers: how many entered the point)",
  },
  "idiosyncrasy-points": {
    params: `modality=VISION|AUDIO[&excludeStages=<glob,glob>]${SOURCE_PARAMS}`,
    columns: ["model_id", "model", "stage", "human", "other_models", "stage_label", "recognizers", "config_hashes"],
    description: "the (model, stage) points of the idiosyncrasy query",
  },
  "human-scores": {
    params: "modelIds=<id,id,...>",
    columns: ["model_id", "model", "experiment", "participant", "stage", "observer", "proportion_correct"],
    description: "per participant x condition rows (observer HUMAN or NETWORK), as imported",
  },
  "model-trials": {
    params: "generatorId=<id>[&batchIds=<id,...>|&configHash=<hash>]",
    columns: ["generator_id", "recognizer_id", "stage", "metamer", "correct", "predicted_label", "batch_id", "config_hash"],
    description:
      "one row per (recognizer, metamer): imported per-metamer flags (metamer = 1-based position, config_hash study:<id>) and computed recognitions (metamer = id)",
  },
};

/** The queries the tables come from (MetricsService has them; named here so this module needs only their types). */
export interface ExportQueries {
  crossModelMatrix(caller: Caller, args: MatrixArgs): Promise<MatrixCellResult[]>;
  recognizabilityCurve(caller: Caller, args: CurveArgs): Promise<CurvePoint[]>;
  idiosyncrasy(caller: Caller, args: IdiosyncrasyArgs): Promise<Idiosyncrasy>;
}

function list(params: URLSearchParams, name: string): string[] {
  const raw = params.get(name);
  if (!raw) throw new AppError("BAD_USER_INPUT", `${name}: expected a comma-separated list of ids in the query string, got nothing`);
  return raw.split(",").map((s) => s.trim()).filter(Boolean);
}

/** batchIds, configHash, poolConfigurations and panelId from the query string (checked by the queries themselves). */
function sourceParams(params: URLSearchParams): SelectionArgs & PanelArgs {
  const pool = params.get("poolConfigurations");
  if (pool !== null && pool !== "true" && pool !== "false") {
    throw new AppError("BAD_USER_INPUT", `poolConfigurations: expected true or false, got '${pool}'`);
  }
  return {
    batchIds: params.has("batchIds") ? (params.get("batchIds") ?? "").split(",").map((s) => s.trim()).filter(Boolean) : null,
    configHash: params.get("configHash"),
    poolConfigurations: pool === "true",
    panelId: params.get("panelId"),
  };
}

function required(params: URLSearchParams, name: string): string {
  const v = params.get(name);
  if (!v) throw new AppError("BAD_USER_INPUT", `${name}: expected a value in the query string, got nothing`);
  return v;
}

const OBSERVERS: Observer[] = ["HUMAN", "GENERATOR", "OTHER_MODELS", "MODEL"];

export async function exportTable(
  metrics: ExportQueries,
  store: Store,
  caller: Caller,
  name: string,
  params: URLSearchParams,
): Promise<ExportTable> {
  const spec = EXPORT_TABLES[name];
  if (!spec) {
    throw new AppError("NOT_FOUND", `export: no table '${name}'; known tables: ${Object.keys(EXPORT_TABLES).map((t) => `${t}.csv`).join(", ")}`);
  }
  const table = (rows: Cell[][]): ExportTable => ({ filename: `${name}.csv`, columns: spec.columns, rows });
  switch (name) {
    case "cross-model-matrix": {
      const cells = await metrics.crossModelMatrix(caller, {
        generatorIds: list(params, "generatorIds"),
        recognizerIds: params.has("recognizerIds") ? list(params, "recognizerIds") : null,
        stage: params.get("stage"),
        ...sourceParams(params),
      });
      return table(cells.map((c) => [c.generatorId, c.recognizerId, c.stage, c.n, c.accuracy, c.stageLabel, joined(c.configHashes)]));
    }
    case "recognizability-curve": {
      const observer = required(params, "observer") as Observer;
      if (!OBSERVERS.includes(observer)) {
        throw new AppError("BAD_USER_INPUT", `observer: expected one of ${OBSERVERS.join(", ")}, got '${observer}'`);
      }
      const modelId = required(params, "modelId");
      const points = await metrics.recognizabilityCurve(caller, { modelId, observer, recognizerId: params.get("recognizerId"), ...sourceParams(params) });
      return table(
        points.map((p) => [modelId, observer, p.stage, p.order, p.natural, p.mean, p.sem, p.n, p.stageLabel, p.recognizerCount, joined(p.configHashes)]),
      );
    }
    case "idiosyncrasy-points": {
      const modality = required(params, "modality") as StudyModality;
      if (!["VISION", "IMAGE", "AUDIO"].includes(modality)) {
        throw new AppError("BAD_USER_INPUT", `modality: expected VISION or AUDIO, got '${modality}'`);
      }
      const exclude = params.get("excludeStages");
      const result = await metrics.idiosyncrasy(caller, {
        modality,
        excludeStages: exclude === null ? null : exclude.split(",").filter(Boolean),
        resamples: 2,
        ...sourceParams(params),
      });
      return table(result.points.map((p) => [p.modelId, p.model, p.stage, p.human, p.otherModels, p.stageLabel, p.recognizerCount, joined(p.configHashes)]));
    }
    case "human-scores": {
      const viewer = requireReader(caller);
      const ids = await store.metrics.visibleIds(viewer, list(params, "modelIds"));
      const rows = await store.metricsExport.participantScores([...ids]);
      return table(rows.map((r) => [r.modelId, r.model, r.experiment, r.participant, r.stage, r.observer, r.value]));
    }
    default: {
      const viewer = requireReader(caller);
      const generatorId = required(params, "generatorId");
      const ids = await store.metrics.visibleIds(viewer, [generatorId]);
      if (!ids.has(generatorId)) throw new AppError("NOT_FOUND", `generatorId: no model with id '${generatorId}' is visible to this caller`);
      const sel = await resolveSelection(store, requireReaderContext(caller), sourceParams(params));
      const rows = await store.metricsExport.trials(generatorId, viewer, sel);
      return table(rows.map((r) => [r.generatorId, r.recognizerId, r.stage, r.metamer, r.correct, r.predictedLabel, r.batchId, r.configHash]));
    }
  }
}

/** RFC 4180 CSV: fields with a comma, quote or newline are quoted; null is an empty field; numbers at full precision. */
export function toCsv(columns: string[], rows: Cell[][]): string {
  const field = (v: Cell) => {
    if (v === null) return "";
    const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.join(",")];
  for (const row of rows) lines.push(row.map(field).join(","));
  return `${lines.join("\n")}\n`;
}
