import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Store } from "../../store/store.js";
import type { StudySummary } from "../../store/studies.js";
import { AppError } from "../../errors.js";
import { type Caller, type RequestContext, requireReader, requireRole } from "../authorization.js";
import { FEATHER2023, type Feather2023Data, parseFeather2023, readFeather2023 } from "./feather2023.js";
import { type HumanVsModelArgs, type HumanVsModelSummary, humanVsModel } from "./human-vs-model.js";
import { inlineStatsRunner, type StatsRunner } from "../stats-pool.js";

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

/** What a client sends to importFeather2023; every field optional. */
export interface Feather2023ImportInput {
  /** A group by name; another group than the caller's needs ADMIN. */
  group?: string | null;
  /** The contents of human_recognizability.csv; together with crossModelRecognitionCsv or not at all. */
  humanRecognizabilityCsv?: string | null;
  /** The contents of cross_model_recognition.csv. */
  crossModelRecognitionCsv?: string | null;
}

export interface GroupImportSummary extends ImportSummary {
  groupId: string;
  groupName: string;
}

/** Published studies imported as external data. */
export class StudyService {
  constructor(
    private readonly store: Store,
    private readonly paperDataDir: string = DEFAULT_PAPER_DATA_DIR,
    /** The app's StatsPool; scripts and tests may leave it out to compute on the calling thread. */
    private readonly stats: StatsRunner = inlineStatsRunner,
  ) {}

  /** Humans vs the generating model: the authors' mixed ANOVA with their permutation scheme (human-vs-model.ts). */
  humanVsModel(caller: Caller, args: HumanVsModelArgs): Promise<HumanVsModelSummary> {
    return humanVsModel(this.store, this.stats, caller, args);
  }

  /**
   * GraphQL entry (also what `metamers import feather2023` calls). The data is the two files' contents as sent by the
   * client (the CLI runs on the lab's machine, the server may be remote: no server-side paths), or, when neither is
   * sent, the copy the server ships with. It lands in the caller's group; naming another group needs an ADMIN key of
   * the hub's first group.
   */
  async importFeather2023(caller: Caller, input: Feather2023ImportInput = {}): Promise<GroupImportSummary> {
    const ctx = requireRole(caller, "MEMBER");
    const group = await this.targetGroup(ctx, input.group ?? null);
    const human = input.humanRecognizabilityCsv ?? null;
    const cross = input.crossModelRecognitionCsv ?? null;
    if ((human === null) !== (cross === null)) {
      throw new AppError(
        "BAD_USER_INPUT",
        `humanRecognizabilityCsv and crossModelRecognitionCsv: expected both files' contents or neither (then the server's copy is used), got only ${human === null ? "crossModelRecognitionCsv" : "humanRecognizabilityCsv"}`,
      );
    }
    const summary =
      human === null
        ? await this.importFeather2023From(group.id, this.paperDataDir)
        : await this.importFeather2023Data(group.id, parseFeather2023(human, cross!));
    return { ...summary, groupId: group.id, groupName: group.name };
  }

  /** The caller's own group, or (hub ADMIN only) the one named; FORBIDDEN is decided before existence is revealed. */
  private async targetGroup(ctx: RequestContext, name: string | null): Promise<{ id: string; name: string }> {
    const own = await this.store.groups.findGroup(ctx.groupId);
    if (!own) throw new AppError("UNAUTHENTICATED", "the API key's group no longer exists");
    if (name === null || name === own.name) return own;
    requireRole(ctx, "ADMIN");
    // Writing into another lab's group is the hub operator's act, not any group's ADMIN's.
    if (!ctx.instanceAdmin) {
      throw new AppError(
        "FORBIDDEN",
        "group: importing into another group needs an instance-admin key (the hub's first key, or one made by it); this key's group may import only into itself",
      );
    }
    const named = await this.store.groups.findGroupByName(name);
    if (!named) throw new AppError("NOT_FOUND", `group: expected the name of an existing group, got '${name}'`);
    return named;
  }

  /** Imports the two files in `dir` into a group (the server's own copy; tests). The caller is trusted. */
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

  /** The studies the caller may read: its group's and those shared with it. */
  list(caller: Caller): Promise<StudySummary[]> {
    return this.store.studies.list(requireReader(caller));
  }
}
