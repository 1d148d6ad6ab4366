import { readFile } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../../errors.js";

/**
 * The released data of Feather et al. (2023) as shipped in `shared/paper-data/` (see its README): parsing and
 * validation only. The files are plain comma-separated values without quoting.
 *
 * How the paper's numbers are reproduced from these rows (verified against the acceptance values):
 * - Human recognizability of (model, stage): the mean of `proportion_correct` over ALL participant rows of that
 *   model and stage, pooled across experiments (resnet50: 22 + 21 + 20 + 21 = 84 rows, final = 0.1093).
 * - Other-model recognizability of (generator, stage): the unweighted mean of the accuracies n_correct / n_metamers
 *   of every recognizer other than the generator (resnet50 final: 19 recognizers, 0.1707).
 * - Idiosyncrasy points: (model, stage) pairs present in both files, matched by the exact stage name. Both files use
 *   the same stage names (e.g. `layer1_fake_relu`), so no renaming is needed; stages named `natural_*` (human file only)
 *   and `input_after_preproc` (cross-model file only, for vision) are excluded. Vision: 148 points, rho = 0.9196;
 *   audio: 127 points, rho = 0.9060. Models with human data but no cross-model rows (e.g. CLIP, HMAX,
 *   spectemp_filters) contribute no point.
 */

export type PaperModality = "IMAGE" | "AUDIO";

export interface ReferenceModelSpec {
  name: string;
  modality: PaperModality;
  /** Metamer stages in network order (natural stages excluded). */
  stages: string[];
}

export interface HumanScoreRow {
  model: string;
  experiment: string;
  participant: string;
  stage: string;
  observer: "HUMAN" | "NETWORK";
  proportionCorrect: number | null;
}

export interface CrossModelRow {
  recognizer: string;
  generator: string;
  stage: string;
  nMetamers: number;
  nCorrect: number;
  correctByMetamer: string;
}

export interface Feather2023Data {
  models: ReferenceModelSpec[];
  humanScores: HumanScoreRow[];
  crossModel: CrossModelRow[];
}

export const FEATHER2023 = {
  key: "feather2023",
  name: "Feather, Leclerc, Mądry & McDermott (2023), Model metamers reveal divergent invariances between biological and artificial neural networks",
  source: "jenellefeather/model_metamers_pytorch@f89cdad (shared/paper-data)",
  humanFile: "human_recognizability.csv",
  crossFile: "cross_model_recognition.csv",
} as const;

const HUMAN_COLUMNS = ["modality", "experiment", "model", "participant", "layer", "observer", "proportion_correct"];
const CROSS_COLUMNS = [
  "modality", "recognizer", "generator", "layer", "n_metamers", "n_correct",
  "reported_accuracy", "reported_bootstrap_sem", "correct_by_metamer",
];

export const isNaturalStage = (stage: string) => stage.startsWith("natural_");

function bad(file: string, line: number, message: string): AppError {
  return new AppError("BAD_USER_INPUT", `${file} line ${line}: ${message}`);
}

function* rows(file: string, text: string, columns: string[]): Generator<[number, string[]]> {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.split(",") ?? [];
  if (header.join(",") !== columns.join(",")) {
    throw bad(file, 1, `expected the header '${columns.join(",")}', got '${lines[0] ?? ""}'`);
  }
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === "") continue;
    const cells = lines[i].split(",");
    if (cells.length !== columns.length) {
      throw bad(file, i + 1, `expected ${columns.length} comma-separated cells, got ${cells.length}`);
    }
    yield [i + 1, cells];
  }
}

function modalityOf(file: string, line: number, value: string): PaperModality {
  if (value === "vision") return "IMAGE";
  if (value === "audio") return "AUDIO";
  throw bad(file, line, `modality must be 'vision' or 'audio', got '${value}'`);
}

function integer(file: string, line: number, column: string, value: string): number {
  const n = Number(value);
  if (value === "" || !Number.isInteger(n) || n < 0) throw bad(file, line, `${column} must be a non-negative integer, got '${value}'`);
  return n;
}

/** Parses and cross-checks both files; every problem names the file, the line and what was expected. */
export function parseFeather2023(humanCsv: string, crossCsv: string): Feather2023Data {
  const modalities = new Map<string, PaperModality>();
  const humanOrder = new Map<string, string[]>();
  const crossOrder = new Map<string, string[]>();
  const note = (order: Map<string, string[]>, model: string, stage: string) => {
    const list = order.get(model) ?? order.set(model, []).get(model)!;
    if (!list.includes(stage)) list.push(stage);
  };
  const setModality = (file: string, line: number, model: string, modality: PaperModality) => {
    const known = modalities.get(model);
    if (known && known !== modality) throw bad(file, line, `model '${model}' appears as ${known} and as ${modality}`);
    modalities.set(model, modality);
  };

  const humanScores: HumanScoreRow[] = [];
  const hf = FEATHER2023.humanFile;
  for (const [line, [modality, experiment, model, participant, layer, observer, value]] of rows(hf, humanCsv, HUMAN_COLUMNS)) {
    setModality(hf, line, model, modalityOf(hf, line, modality));
    if (observer !== "human" && observer !== "network") throw bad(hf, line, `observer must be 'human' or 'network', got '${observer}'`);
    const proportion = value === "" ? null : Number(value);
    if (proportion !== null && !(proportion >= 0 && proportion <= 1)) {
      throw bad(hf, line, `proportion_correct must be empty or a number in [0, 1], got '${value}'`);
    }
    if (!experiment || !model || !participant || !layer) throw bad(hf, line, "experiment, model, participant and layer must not be empty");
    if (!isNaturalStage(layer)) note(humanOrder, model, layer);
    humanScores.push({
      model, experiment, participant, stage: layer,
      observer: observer === "human" ? "HUMAN" : "NETWORK",
      proportionCorrect: proportion,
    });
  }

  const crossModel: CrossModelRow[] = [];
  const cf = FEATHER2023.crossFile;
  for (const [line, [modality, recognizer, generator, layer, nm, nc, , , flags]] of rows(cf, crossCsv, CROSS_COLUMNS)) {
    const m = modalityOf(cf, line, modality);
    setModality(cf, line, recognizer, m);
    setModality(cf, line, generator, m);
    const nMetamers = integer(cf, line, "n_metamers", nm);
    const nCorrect = integer(cf, line, "n_correct", nc);
    if (!/^[01]*$/.test(flags) || flags.length !== nMetamers) {
      throw bad(cf, line, `correct_by_metamer must be ${nMetamers} characters of 0/1, got ${flags.length} characters`);
    }
    const ones = flags.split("").filter((c) => c === "1").length;
    if (ones !== nCorrect) throw bad(cf, line, `n_correct is ${nCorrect} but correct_by_metamer has ${ones} ones`);
    note(crossOrder, generator, layer);
    crossModel.push({ recognizer, generator, stage: layer, nMetamers, nCorrect, correctByMetamer: flags });
  }

  const models = [...modalities.entries()].map(([name, modality]) => ({
    name,
    modality,
    stages: mergeOrders(crossOrder.get(name) ?? [], humanOrder.get(name) ?? []),
  }));
  return { models, humanScores, crossModel };
}

/**
 * One network order from two partial ones (each file lists a model's stages in network order, but a file may lack
 * stages: the human file has no `input_after_preproc` for vision). Stages only in `extra` go right after the stage
 * that precedes them there.
 */
export function mergeOrders(base: string[], extra: string[]): string[] {
  const merged = base.slice();
  let insertAt = 0;
  for (const stage of extra) {
    const at = merged.indexOf(stage);
    if (at >= 0) {
      insertAt = at + 1;
    } else {
      merged.splice(insertAt, 0, stage);
      insertAt++;
    }
  }
  return merged;
}

/** Reads the two CSV files from `dir` (the released data folder). */
export async function readFeather2023(dir: string): Promise<Feather2023Data> {
  const read = async (name: string) => {
    try {
      return await readFile(path.join(dir, name), "utf8");
    } catch (e) {
      throw new AppError("BAD_USER_INPUT", `expected ${name} in ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  return parseFeather2023(await read(FEATHER2023.humanFile), await read(FEATHER2023.crossFile));
}
