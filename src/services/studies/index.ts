import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Store } from "../../store/store.js";
import type { StudySummary } from "../../store/studies.js";
import { type Caller, requireRole } from "../context.js";
import { FEATHER2023, type Feather2023Data, readFeather2023 } from "./feather2023.js";

/** The released data shipped beside the repository (`<repo>/../shared/paper-data`). */
export const DEFAULT_PAPER_DATA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../shared/paper-data");

export interface ImportSummary {
  studyId: string;
  key: string;
  /** False when the study already existed (a re-import adds only missing rows: normally none). */
  created: boolean;
  models: number;
  humanScores: number;
  humanScoresInserted: number;
  crossModelResults: number;
  crossModelResultsInserted: number;
  elapsedMs: number;
}

/** Published studies imported as external data. */
export class StudyService {
  constructor(
    private readonly store: Store,
    private readonly paperDataDir: string = DEFAULT_PAPER_DATA_DIR,
  ) {}

  /** GraphQL entry: imports the copy of the paper's data the server ships with (no client-chosen paths). */
  importFeather2023(caller: Caller): Promise<ImportSummary> {
    const ctx = requireRole(caller, "MEMBER");
    return this.importFeather2023From(ctx.groupId, this.paperDataDir);
  }

  /** CLI entry (`metamers import feather2023 <dir>`): trusted caller, explicit group and folder. */
  async importFeather2023From(groupId: string, dir: string): Promise<ImportSummary> {
    const data = await readFeather2023(dir);
    return this.importFeather2023Data(groupId, data);
  }

  /**
   * Loads the parsed release into one group, idempotently: the study, its reference models and stages are created
   * when missing, and score rows are inserted with ON CONFLICT DO NOTHING, all in one transaction (a concurrent
   * import of the same study waits on an advisory lock).
   */
  async importFeather2023Data(groupId: string, data: Feather2023Data): Promise<ImportSummary> {
    const started = performance.now();
    return this.store.transaction(
      async (tx) => {
        await tx.studies.lockStudy(groupId, FEATHER2023.key);
        const { study, created } = await tx.studies.ensureStudy(groupId, FEATHER2023.key, FEATHER2023.name, FEATHER2023.source);
        const ids = await tx.studies.ensureReferenceModels(groupId, study.id, data.models);
        const humanScoresInserted = await tx.studies.insertHumanScores(
          study.id,
          data.humanScores.map((r) => ({ ...r, modelId: ids.get(r.model)! })),
        );
        const crossModelResultsInserted = await tx.studies.insertCrossModelResults(
          study.id,
          data.crossModel.map((r) => ({ ...r, recognizerId: ids.get(r.recognizer)!, generatorId: ids.get(r.generator)! })),
        );
        return {
          studyId: study.id,
          key: study.key,
          created,
          models: ids.size,
          humanScores: data.humanScores.length,
          humanScoresInserted,
          crossModelResults: data.crossModel.length,
          crossModelResultsInserted,
          elapsedMs: Math.round(performance.now() - started),
        };
      },
      { timeoutMs: 120_000 },
    );
  }

  list(caller: Caller): Promise<StudySummary[]> {
    const ctx = requireRole(caller, "READER");
    return this.store.studies.list(ctx.groupId);
  }
}
