import type { DbOrTx } from "./db.js";
import type { Modality } from "../generated/prisma/enums.js";
import { asViewer, visibleSql, type Viewer } from "./visibility.js";

/**
 * Imported published studies (e.g. feather2023): the Study row, its reference models (metadata only), their stages,
 * per-participant human scores and per-metamer cross-model results.
 *
 * Bulk rows go in as one `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING` per table (tens of thousands
 * of rows per statement, 6-9 bind parameters), which makes a re-import a no-op that costs one pass over the unique
 * indexes instead of one round trip per row.
 */

export interface StudyRecord {
  id: string;
  groupId: string;
  key: string;
  name: string;
  source: string;
  importedAt: Date;
}

export interface ReferenceModelInput {
  name: string;
  modality: Modality;
  stages: string[];
}

export interface HumanScoreInput {
  modelId: string;
  experiment: string;
  participant: string;
  stage: string;
  observer: "HUMAN" | "NETWORK";
  proportionCorrect: number | null;
}

export interface CrossModelInput {
  recognizerId: string;
  generatorId: string;
  stage: string;
  nMetamers: number;
  nCorrect: number;
  correctByMetamer: string;
}

export interface StudySummary extends StudyRecord {
  models: number;
  humanScores: number;
  crossModelResults: number;
}

/** Rows per statement: keeps each bind array well below PostgreSQL's 1 GB parameter limit. */
const CHUNK = 20_000;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export class StudyStore {
  constructor(private readonly db: DbOrTx) {}

  /**
   * Serialises concurrent imports of the same study in one group (two CLI runs at once) for the rest of the
   * transaction; call first inside `store.transaction`.
   */
  async lockStudy(groupId: string, key: string): Promise<void> {
    await this.db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`study:${groupId}:${key}`}, 0))`;
  }

  /** The study row, created when missing. Returns it and whether it was created. */
  async ensureStudy(groupId: string, key: string, name: string, source: string): Promise<{ study: StudyRecord; created: boolean }> {
    const inserted = await this.db.$executeRaw`
      INSERT INTO "Study" (id, "groupId", key, name, source)
      VALUES (gen_random_uuid(), ${groupId}::uuid, ${key}, ${name}, ${source})
      ON CONFLICT ("groupId", key) DO NOTHING`;
    const study = await this.db.study.findUniqueOrThrow({ where: { groupId_key: { groupId, key } } });
    return { study, created: inserted > 0 };
  }

  findStudy(groupId: string, key: string): Promise<StudyRecord | null> {
    return this.db.study.findUnique({ where: { groupId_key: { groupId, key } } });
  }

  /**
   * Reference models of the study (source REFERENCE, no ONNX), created when missing, and their stages as Layer rows
   * (order = network order, producerOp 'reference', not differentiable: there is no graph). A model name already
   * used by one of the group's own uploads gets the next version number instead of clashing with it.
   * Returns name -> model id.
   */
  async ensureReferenceModels(groupId: string, studyId: string, models: ReferenceModelInput[]): Promise<Map<string, string>> {
    const names = models.map((m) => m.name);
    const modalities = models.map((m) => m.modality);
    await this.db.$executeRaw`
      INSERT INTO "Model" (id, "groupId", name, version, source, "studyId", modality, "inputShape", "inputRange", "classLabels")
      SELECT gen_random_uuid(), ${groupId}::uuid, n.name,
             COALESCE((SELECT max(version) FROM "Model" m WHERE m."groupId" = ${groupId}::uuid AND m.name = n.name), 0) + 1,
             'REFERENCE', ${studyId}::uuid, n.modality::"Modality", '{}', '{}', '{}'
        FROM unnest(${names}::text[], ${modalities}::text[]) AS n(name, modality)
       WHERE NOT EXISTS (SELECT 1 FROM "Model" m WHERE m."studyId" = ${studyId}::uuid AND m.name = n.name)`;
    const rows = await this.db.model.findMany({ where: { studyId }, select: { id: true, name: true } });
    const ids = new Map(rows.map((r) => [r.name, r.id]));

    const layerModel: string[] = [];
    const layerName: string[] = [];
    const layerOrder: number[] = [];
    for (const m of models) {
      m.stages.forEach((stage, order) => {
        layerModel.push(ids.get(m.name)!);
        layerName.push(stage);
        layerOrder.push(order);
      });
    }
    await this.db.$executeRaw`
      INSERT INTO "Layer" (id, "modelId", name, shape, "producerOp", "order", differentiable)
      SELECT gen_random_uuid(), l.model, l.name, '{}', 'reference', l.ord, false
        FROM unnest(${layerModel}::uuid[], ${layerName}::text[], ${layerOrder}::int[]) AS l(model, name, ord)
      ON CONFLICT ("modelId", name) DO NOTHING`;
    return ids;
  }

  /** Inserts the rows not yet present; returns how many were new. */
  async insertHumanScores(studyId: string, rows: HumanScoreInput[]): Promise<number> {
    let inserted = 0;
    for (const part of chunks(rows)) {
      inserted += await this.db.$executeRaw`
        INSERT INTO "HumanScore" ("studyId", "modelId", experiment, participant, stage, observer, "proportionCorrect")
        SELECT ${studyId}::uuid, r.model, r.experiment, r.participant, r.stage, r.observer::"Observer", r.score
          FROM unnest(${part.map((r) => r.modelId)}::uuid[], ${part.map((r) => r.experiment)}::text[],
                      ${part.map((r) => r.participant)}::text[], ${part.map((r) => r.stage)}::text[],
                      ${part.map((r) => r.observer)}::text[], ${part.map((r) => r.proportionCorrect)}::float8[])
               AS r(model, experiment, participant, stage, observer, score)
        ON CONFLICT ("studyId", experiment, "modelId", participant, stage, observer) DO NOTHING`;
    }
    return inserted;
  }

  /** Inserts the rows not yet present; returns how many were new. */
  async insertCrossModelResults(studyId: string, rows: CrossModelInput[]): Promise<number> {
    let inserted = 0;
    for (const part of chunks(rows)) {
      inserted += await this.db.$executeRaw`
        INSERT INTO "CrossModelResult" ("studyId", "recognizerId", "generatorId", stage, "nMetamers", "nCorrect", "correctByMetamer")
        SELECT ${studyId}::uuid, r.recognizer, r.generator, r.stage, r.n, r.correct, r.flags
          FROM unnest(${part.map((r) => r.recognizerId)}::uuid[], ${part.map((r) => r.generatorId)}::uuid[],
                      ${part.map((r) => r.stage)}::text[], ${part.map((r) => r.nMetamers)}::int[],
                      ${part.map((r) => r.nCorrect)}::int[], ${part.map((r) => r.correctByMetamer)}::text[])
               AS r(recognizer, generator, stage, n, correct, flags)
        ON CONFLICT ("studyId", "recognizerId", "generatorId", stage) DO NOTHING`;
    }
    return inserted;
  }

  /** The studies the viewer may read (own and shared: src/store/visibility.ts) with row counts (counted in SQL). */
  async list(viewer: Viewer | string): Promise<StudySummary[]> {
    const rows = await this.db.$queryRaw<(StudyRecord & { models: bigint; humanScores: bigint; crossModelResults: bigint })[]>`
      SELECT s.id, s."groupId", s.key, s.name, s.source, s."importedAt",
             (SELECT count(*) FROM "Model" m WHERE m."studyId" = s.id) AS models,
             (SELECT count(*) FROM "HumanScore" h WHERE h."studyId" = s.id) AS "humanScores",
             (SELECT count(*) FROM "CrossModelResult" c WHERE c."studyId" = s.id) AS "crossModelResults"
        FROM "Study" s WHERE ${visibleSql(asViewer(viewer), "STUDY", "s")} ORDER BY s."importedAt"`;
    return rows.map((r) => ({
      ...r,
      models: Number(r.models),
      humanScores: Number(r.humanScores),
      crossModelResults: Number(r.crossModelResults),
    }));
  }
}
