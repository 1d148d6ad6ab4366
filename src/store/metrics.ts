import type { DbOrTx } from "./db.js";
import type { Modality } from "../generated/prisma/enums.js";

/**
 * Recognizability aggregates, computed in SQL: means, counts and standard errors of human scores, per-recognizer
 * accuracies (from imported CrossModelResult rows and from computed Recognition rows), the cross-model matrix and
 * the (model, stage) points of the idiosyncrasy analysis. The services only add what SQL cannot do well
 * (bootstrap resampling, rank correlations, permutation tests), on the few rows these queries return.
 *
 * Visibility: every query that ranges over models takes the caller's group and keeps the group's own models and
 * models shared by anyone, like ModelStore.
 */

export interface StagePoint {
  stage: string;
  /** Position in network order; natural stimuli get -1 so that they come first. */
  order: number;
  mean: number;
  sem: number | null;
  n: number;
}

/** One recognizer's correct flags on one generator's validated metamers at one stage. */
export interface RecognizerFlags {
  recognizerId: string;
  /** 1 correct / 0 wrong, one per metamer, in a stable order (metamer id, or the release's order when imported). */
  flags: Uint8Array;
}

export interface MatrixCell {
  generatorId: string;
  recognizerId: string;
  stage: string;
  n: number;
  nCorrect: number;
}

export interface IdiosyncrasyPointRow {
  modelId: string;
  model: string;
  stage: string;
  human: number;
  otherModels: number;
  participants: number;
  recognizers: number;
}

export interface ParticipantScore {
  experiment: string;
  participant: string;
  stage: string;
  observer: "HUMAN" | "NETWORK";
  value: number;
}

/**
 * Stage order of a model: Layer.order, natural stimuli first (-1: `natural` for computed recognitions,
 * `natural_image`/`natural_audio` in imported human data), unknown stages last.
 */
const stageOrderSql = (modelColumn: string, stageColumn: string) => `
  CASE WHEN ${stageColumn} = 'natural' OR ${stageColumn} LIKE 'natural\\_%' THEN -1
       ELSE COALESCE((SELECT l."order" FROM "Layer" l WHERE l."modelId" = ${modelColumn} AND l.name = ${stageColumn}), 1000000)
  END`;

export class MetricsStore {
  constructor(private readonly db: DbOrTx) {}

  /** Which of `ids` name models the group may see (its own, or shared). */
  async visibleIds(groupId: string, ids: string[]): Promise<Set<string>> {
    const valid = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
    const rows = await this.db.model.findMany({
      where: { id: { in: valid }, OR: [{ groupId }, { visibility: "SHARED" }] },
      select: { id: true },
    });
    return new Set(rows.map((r) => r.id));
  }

  /** The name of the model's last stage in network order (its `final` stage), or null when it has no layers. */
  async finalStage(modelId: string): Promise<string | null> {
    const row = await this.db.layer.findFirst({ where: { modelId }, orderBy: { order: "desc" }, select: { name: true } });
    return row?.name ?? null;
  }

  /** Per-participant scores (pooled across experiments) of one model, stage and observer. */
  async participantValues(modelId: string, stage: string, observer: "HUMAN" | "NETWORK"): Promise<number[]> {
    const rows = await this.db.$queryRaw<{ v: number }[]>`
      SELECT "proportionCorrect" AS v FROM "HumanScore"
       WHERE "modelId" = ${modelId}::uuid AND stage = ${stage} AND observer = ${observer}::"Observer"
         AND "proportionCorrect" IS NOT NULL
       ORDER BY experiment, participant`;
    return rows.map((r) => r.v);
  }

  /** Mean, SEM (sample std / sqrt n) and n per stage of the participant scores, in network order. */
  async participantCurve(modelId: string, observer: "HUMAN" | "NETWORK"): Promise<StagePoint[]> {
    const rows = await this.db.$queryRawUnsafe<{ stage: string; order: number; mean: number; sem: number | null; n: bigint }[]>(
      `SELECT h.stage, ${stageOrderSql("h.\"modelId\"", "h.stage")} AS "order",
              avg(h."proportionCorrect") AS mean,
              stddev_samp(h."proportionCorrect") / sqrt(count(*)) AS sem,
              count(*) AS n
         FROM "HumanScore" h
        WHERE h."modelId" = $1::uuid AND h.observer = $2::"Observer" AND h."proportionCorrect" IS NOT NULL
        GROUP BY h."modelId", h.stage
        ORDER BY 2, 1`,
      modelId,
      observer,
    );
    return rows.map((r) => ({ ...r, order: Number(r.order), n: Number(r.n) }));
  }

  /** Every participant row of a model (for the permutation tests), both observers. */
  async participantRows(modelIds: string[]): Promise<(ParticipantScore & { modelId: string })[]> {
    return this.db.$queryRaw<(ParticipantScore & { modelId: string })[]>`
      SELECT "modelId", experiment, participant, stage, observer::text AS observer, "proportionCorrect" AS value
        FROM "HumanScore"
       WHERE "modelId" = ANY(${modelIds}::uuid[]) AND "proportionCorrect" IS NOT NULL
       ORDER BY "modelId", experiment, participant, stage`;
  }

  /**
   * Each recognizer's correct flags on the generator's validated metamers at `stage`: imported per-metamer strings
   * and computed Recognition rows (passed metamers only, ordered by metamer id so that recognizers align).
   */
  async recognizerFlags(generatorId: string, stage: string): Promise<RecognizerFlags[]> {
    const rows = await this.db.$queryRaw<{ recognizerId: string; flags: string }[]>`
      SELECT c."recognizerId", c."correctByMetamer" AS flags
        FROM "CrossModelResult" c
       WHERE c."generatorId" = ${generatorId}::uuid AND c.stage = ${stage}
      UNION ALL
      SELECT r."recognizerId", string_agg(CASE WHEN r.correct THEN '1' ELSE '0' END, '' ORDER BY m.id) AS flags
        FROM "Metamer" m JOIN "Recognition" r ON r."metamerId" = m.id
       WHERE m."modelId" = ${generatorId}::uuid AND m.stage = ${stage} AND m.passed
       GROUP BY r."recognizerId"`;
    return rows.map((r) => ({
      recognizerId: r.recognizerId,
      flags: Uint8Array.from(r.flags, (c) => (c === "1" ? 1 : 0)),
    }));
  }

  /**
   * Accuracy per (recognizer, stage) of one generator's metamers, in network order: the curve of one recognizer or
   * of all of them (the service averages over recognizers).
   */
  async recognizerAccuracyByStage(generatorId: string): Promise<{ recognizerId: string; stage: string; order: number; n: number; nCorrect: number }[]> {
    const rows = await this.db.$queryRawUnsafe<{ recognizerId: string; stage: string; order: number; n: bigint; nCorrect: bigint }[]>(
      `WITH counts AS (
         SELECT c."recognizerId", c.stage, c."nMetamers"::bigint AS n, c."nCorrect"::bigint AS "nCorrect"
           FROM "CrossModelResult" c WHERE c."generatorId" = $1::uuid
         UNION ALL
         SELECT x."recognizerId", x.stage, x.n::bigint, x."nCorrect"::bigint
           FROM "RecognitionTally" x WHERE x."generatorId" = $1::uuid AND x.n > 0
         UNION ALL
         -- The natural point: each recognizer on the natural stimuli the generator's validated metamers came from.
         SELECT r."recognizerId", 'natural', count(*), count(*) FILTER (WHERE r.correct)
           FROM "Recognition" r
          WHERE r."stimulusId" IN (SELECT m."stimulusId" FROM "Metamer" m WHERE m."modelId" = $1::uuid AND m.passed)
          GROUP BY r."recognizerId")
       SELECT "recognizerId", stage, ${stageOrderSql("$1::uuid", "stage")} AS "order", n, "nCorrect"
         FROM counts ORDER BY 3, 2, 1`,
      generatorId,
    );
    return rows.map((r) => ({ ...r, order: Number(r.order), n: Number(r.n), nCorrect: Number(r.nCorrect) }));
  }

  /**
   * The cross-model matrix: for every generator (at `stage`, or at its own final stage when `stage` is null) and every
   * recognizer, the number of validated metamers and how many the recognizer got right. One query; missing pairs
   * are absent.
   */
  async matrix(generatorIds: string[], recognizerIds: string[], stage: string | null): Promise<MatrixCell[]> {
    const rows = await this.db.$queryRaw<{ generatorId: string; recognizerId: string; stage: string; n: bigint; nCorrect: bigint }[]>`
      WITH targets AS MATERIALIZED (
        SELECT g.id AS generator,
               COALESCE(${stage}::text,
                        (SELECT l.name FROM "Layer" l WHERE l."modelId" = g.id ORDER BY l."order" DESC LIMIT 1)) AS stage
          FROM unnest(${generatorIds}::uuid[]) AS g(id)),
      computed AS (
        -- RecognitionTally holds the per-cell totals of Recognition rows on validated metamers (kept by triggers),
        -- so this reads one row per cell instead of aggregating every recognition.
        SELECT t.generator, x."recognizerId", t.stage, x.n::bigint AS n, x."nCorrect"::bigint AS "nCorrect"
          FROM targets t
          JOIN "RecognitionTally" x ON x."generatorId" = t.generator AND x.stage = t.stage
         WHERE x."recognizerId" = ANY(${recognizerIds}::uuid[]) AND x.n > 0),
      imported AS (
        SELECT t.generator, c."recognizerId", t.stage, sum(c."nMetamers") AS n, sum(c."nCorrect") AS "nCorrect"
          FROM targets t
          JOIN "CrossModelResult" c ON c."generatorId" = t.generator AND c.stage = t.stage
         WHERE c."recognizerId" = ANY(${recognizerIds}::uuid[])
         GROUP BY t.generator, c."recognizerId", t.stage)
      SELECT generator AS "generatorId", "recognizerId", stage, n, "nCorrect" FROM computed
      UNION ALL
      SELECT generator, "recognizerId", stage, n, "nCorrect" FROM imported`;
    return rows.map((r) => ({ ...r, n: Number(r.n), nCorrect: Number(r.nCorrect) }));
  }

  /**
   * Idiosyncrasy points: every visible (model, stage) with both human scores (mean over all participant rows,
   * pooled across experiments) and other-model results (mean over recognizers other than the generator of each
   * recognizer's accuracy), matched by exact stage name. `excludeLike` are SQL LIKE patterns.
   */
  async idiosyncrasyPoints(groupId: string, modality: Modality, excludeLike: string[], studyId: string | null): Promise<IdiosyncrasyPointRow[]> {
    const rows = await this.db.$queryRaw<(Omit<IdiosyncrasyPointRow, "participants" | "recognizers"> & { participants: bigint; recognizers: bigint })[]>`
      WITH visible AS (
        SELECT id, name FROM "Model"
         WHERE ("groupId" = ${groupId}::uuid OR visibility = 'SHARED') AND modality = ${modality}::"Modality"
           AND (${studyId}::uuid IS NULL OR "studyId" = ${studyId}::uuid)),
      human AS (
        SELECT h."modelId", h.stage, avg(h."proportionCorrect") AS human, count(*) AS participants
          FROM "HumanScore" h JOIN visible v ON v.id = h."modelId"
         WHERE h.observer = 'HUMAN' AND h."proportionCorrect" IS NOT NULL
         GROUP BY h."modelId", h.stage),
      accuracy AS (
        SELECT c."generatorId", c.stage, c."recognizerId", sum(c."nCorrect")::float8 / sum(c."nMetamers") AS acc
          FROM "CrossModelResult" c JOIN visible v ON v.id = c."generatorId"
         WHERE c."recognizerId" <> c."generatorId" AND c."nMetamers" > 0
         GROUP BY c."generatorId", c.stage, c."recognizerId"
        UNION ALL
        SELECT x."generatorId", x.stage, x."recognizerId", x."nCorrect"::float8 / x.n
          FROM "RecognitionTally" x JOIN visible v ON v.id = x."generatorId"
         WHERE x."recognizerId" <> x."generatorId" AND x.n > 0),
      other AS (
        SELECT "generatorId", stage, avg(acc) AS "otherModels", count(*) AS recognizers
          FROM accuracy GROUP BY "generatorId", stage)
      SELECT v.id AS "modelId", v.name AS model, h.stage, h.human, o."otherModels", h.participants, o.recognizers
        FROM human h
        JOIN other o ON o."generatorId" = h."modelId" AND o.stage = h.stage
        JOIN visible v ON v.id = h."modelId"
       WHERE NOT (h.stage LIKE ANY (${excludeLike}::text[]))
       ORDER BY v.name, h.stage`;
    return rows.map((r) => ({ ...r, participants: Number(r.participants), recognizers: Number(r.recognizers) }));
  }
}

export interface TrialRow {
  recognizerId: string;
  generatorId: string;
  stage: string;
  /** Position of the metamer in the release's order (imported) or the metamer id (computed). */
  metamer: string;
  correct: boolean;
  predictedLabel: string | null;
}

/** Row-level exports (CSV); kept here so that the SQL lives in the store. */
export class MetricsExportStore {
  constructor(private readonly db: DbOrTx) {}

  /** Per-participant scores of the given models, both observers, NULL scores included. */
  participantScores(modelIds: string[]) {
    return this.db.$queryRaw<{ modelId: string; model: string; experiment: string; participant: string; stage: string; observer: string; value: number | null }[]>`
      SELECT h."modelId", m.name AS model, h.experiment, h.participant, h.stage, h.observer::text AS observer, h."proportionCorrect" AS value
        FROM "HumanScore" h JOIN "Model" m ON m.id = h."modelId"
       WHERE h."modelId" = ANY(${modelIds}::uuid[])
       ORDER BY m.name, h.experiment, h.participant::text, h.stage, h.observer`;
  }

  /**
   * One row per (recognizer, metamer) of a generator's metamers: imported per-metamer strings are expanded in SQL
   * (`metamer` = 1-based position in the release), computed Recognition rows are listed as they are.
   */
  trials(generatorId: string): Promise<TrialRow[]> {
    return this.db.$queryRaw<TrialRow[]>`
      SELECT * FROM (
      SELECT c."recognizerId", c."generatorId", c.stage, t.i::text AS metamer, t.flag = '1' AS correct, NULL::text AS "predictedLabel"
        FROM "CrossModelResult" c,
             LATERAL unnest(string_to_array(c."correctByMetamer", NULL)) WITH ORDINALITY AS t(flag, i)
       WHERE c."generatorId" = ${generatorId}::uuid
      UNION ALL
      SELECT r."recognizerId", m."modelId", m.stage, m.id::text, r.correct, r."predictedLabel"
        FROM "Metamer" m JOIN "Recognition" r ON r."metamerId" = m.id
       WHERE m."modelId" = ${generatorId}::uuid
      ) AS u
       ORDER BY stage, "recognizerId", length(metamer), metamer`;
  }
}
