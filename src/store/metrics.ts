import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";
import type { LayerRecord } from "./models.js";
import type { Modality } from "../generated/prisma/enums.js";
import { asViewer, idVisibleSql, VisibilityStore, visibleSql, type Viewer } from "./visibility.js";

/**
 * Recognizability aggregates, computed in SQL: means, counts and standard errors of human scores, per-recognizer
 * accuracies (from imported CrossModelResult rows and from computed Recognition rows), the cross-model matrix and
 * the (model, stage) points of the idiosyncrasy analysis. The services only add what SQL cannot do well
 * (bootstrap resampling, rank correlations, permutation tests), on the few rows these queries return.
 *
 * Visibility: every query that ranges over models, metamers or recognizers takes the viewer and applies the one rule
 * of src/store/visibility.ts, so an aggregate counts exactly the rows the viewer could list.
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
  /** The configurations the metamers came from (`study:<id>` for imported results). */
  configHashes: string[];
}

export interface MatrixCell {
  generatorId: string;
  recognizerId: string;
  stage: string;
  stageLabel: string | null;
  n: number;
  nCorrect: number;
  configHashes: string[];
}

/**
 * Which synthesis configurations' results a query reads (services/metrics/selection.ts decides, and checks that
 * `batchIds` share one configuration unless `pool`):
 * - batchIds: the validated metamers of these batches only (aggregated from the Recognition rows);
 * - configHash: that configuration only (from RecognitionTally);
 * - neither: per (generator, stage) the latest configuration (the one whose newest batch is newest), or every
 *   configuration summed when `pool`.
 * Imported study results belong to no batch: they come in (as configuration `study:<id>`) only without batchIds and
 * configHash.
 */
export interface ConfigSelection {
  batchIds: string[] | null;
  configHash: string | null;
  pool: boolean;
}

/** Every configuration pooled: what the queries returned before results were keyed by configuration. */
export const ALL_CONFIGURATIONS: ConfigSelection = Object.freeze({ batchIds: null, configHash: null, pool: true });

/**
 * The configurations chosen for every (generator, stage) of a CTE named `targets`: rows (generator, stage,
 * "configHash"). Empty when the selection names batches (those queries read Metamer rows instead). The latest
 * configuration is the one whose newest batch of that generator is newest (index SynthesisBatch(modelId,
 * configHash, createdAt)); configurations without a batch (metamers written directly: 'unbatched') come last.
 */
function chosenConfigurations(sel: ConfigSelection): Prisma.Sql {
  return Prisma.sql`
    SELECT t.generator, t.stage, c."configHash"
      FROM targets t
      CROSS JOIN LATERAL (
        SELECT x."configHash"
          FROM "RecognitionTally" x
         WHERE x."generatorId" = t.generator AND x.stage = t.stage AND x.n > 0
           AND ${sel.batchIds}::uuid[] IS NULL
           AND (${sel.configHash}::text IS NULL OR x."configHash" = ${sel.configHash}::text)
         GROUP BY x."configHash"
         ORDER BY (SELECT max(b."createdAt") FROM "SynthesisBatch" b
                    WHERE b."modelId" = t.generator AND b."configHash" = x."configHash") DESC NULLS LAST, x."configHash"
         LIMIT CASE WHEN ${sel.pool}::boolean THEN NULL ELSE 1 END) c`;
}

/** True for rows of imported studies: only when the selection names neither batches nor a configuration. */
const importedIncluded = (sel: ConfigSelection) => Prisma.sql`(${sel.batchIds}::uuid[] IS NULL AND ${sel.configHash}::text IS NULL)`;

/** `column` is one of `ids`, or any value when `ids` is null (no panel). */
const inList = (column: string, ids: string[] | null) =>
  Prisma.sql`(${ids}::uuid[] IS NULL OR ${Prisma.raw(column)} = ANY(${ids}::uuid[]))`;

/** A stage's label (Layer.label) or null: `model` and `stage` are SQL expressions. */
const stageLabelSql = (model: Prisma.Sql, stage: Prisma.Sql) =>
  Prisma.sql`(SELECT l.label FROM "Layer" l WHERE l."modelId" = ${model} AND l.name = ${stage})`;

/** stageOrderSql as a composable fragment. */
const stageOrderFragment = (model: Prisma.Sql, stage: Prisma.Sql) => Prisma.sql`
  CASE WHEN ${stage} = 'natural' OR ${stage} LIKE 'natural\\_%' THEN -1
       ELSE COALESCE((SELECT l."order" FROM "Layer" l WHERE l."modelId" = ${model} AND l.name = ${stage}), 1000000)
  END`;

export interface IdiosyncrasyPointRow {
  modelId: string;
  model: string;
  stage: string;
  stageLabel: string | null;
  human: number;
  otherModels: number;
  participants: number;
  recognizers: number;
  recognizerIds: string[];
  configHashes: string[];
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

/** The recognizer (an SQL column holding its id) is a model the viewer sees (src/store/visibility.ts). */
const recognizerVisible = (viewer: Viewer, column: string) => idVisibleSql(viewer, "MODEL", Prisma.raw(column));

/**
 * (generator, stage, configHash) of `generators` (an SQL list of ids) with validated metamers the viewer does not see
 * (another group's unshared batch on a visible model). A (generator, stage) cell whose chosen configurations include
 * one of these ("partial" in the queries) is aggregated from the viewer's visible Recognition rows instead of read
 * from RecognitionTally, whose totals include every metamer; the queries drive those branches from this (usually
 * empty) set, so a viewer who sees everything pays one index scan of the generators' metamers.
 */
const hiddenCells = (viewer: Viewer, generators: Prisma.Sql) => Prisma.sql`
  SELECT DISTINCT hm."modelId" AS generator, hm.stage, hm."configHash" FROM "Metamer" hm
   WHERE hm."modelId" IN (${generators}) AND hm.passed AND NOT ${visibleSql(viewer, "METAMER", "hm")}`;

export class MetricsStore {
  constructor(private readonly db: DbOrTx) {}

  /** Which of `ids` name models the group may see (its own, or shared). */
  async visibleIds(viewer: Viewer | string, ids: string[]): Promise<Set<string>> {
    return new VisibilityStore(this.db).visibleIds(asViewer(viewer), "MODEL", ids);
  }

  /** The layers (stages) of each model, in network order: one query for a whole matrix. */
  async layersOf(modelIds: string[]): Promise<Map<string, LayerRecord[]>> {
    const rows = await this.db.layer.findMany({ where: { modelId: { in: modelIds } }, orderBy: [{ modelId: "asc" }, { order: "asc" }] });
    const out = new Map<string, LayerRecord[]>();
    for (const r of rows) {
      const list = out.get(r.modelId) ?? out.set(r.modelId, []).get(r.modelId)!;
      list.push({ ...r, unsupportedOps: r.unsupportedOps as unknown as LayerRecord["unsupportedOps"] });
    }
    return out;
  }

  /** Name and stage labels (label -> tensor) of each model. */
  async stageLabelMaps(modelIds: string[]): Promise<Map<string, { name: string; stageLabels: Record<string, string> }>> {
    const rows = await this.db.model.findMany({ where: { id: { in: modelIds } }, select: { id: true, name: true, stageLabels: true } });
    return new Map(rows.map((r) => [r.id, { name: r.name, stageLabels: (r.stageLabels ?? {}) as Record<string, string> }]));
  }

  /** The configuration and generator of each of these batches (ids not found are absent). */
  async batchConfigurations(ids: string[]): Promise<{ id: string; modelId: string; configHash: string }[]> {
    return this.db.synthesisBatch.findMany({ where: { id: { in: ids } }, select: { id: true, modelId: true, configHash: true } });
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
   * Each recognizer's correct flags on the generator's validated metamers at `stage` and the selected
   * configurations: imported per-metamer strings and computed Recognition rows (passed metamers only, ordered by
   * metamer id so that recognizers align).
   */
  async recognizerFlags(viewer: Viewer, generatorId: string, stage: string, sel: ConfigSelection = ALL_CONFIGURATIONS): Promise<RecognizerFlags[]> {
    const rows = await this.db.$queryRaw<{ recognizerId: string; flags: string; configHashes: string[] }[]>`
      WITH targets AS (SELECT ${generatorId}::uuid AS generator, ${stage}::text AS stage),
      chosen AS MATERIALIZED (${chosenConfigurations(sel)})
      SELECT c."recognizerId", c."correctByMetamer" AS flags, ARRAY['study:' || c."studyId"] AS "configHashes"
        FROM "CrossModelResult" c
       WHERE c."generatorId" = ${generatorId}::uuid AND c.stage = ${stage} AND ${importedIncluded(sel)}
         AND ${recognizerVisible(viewer, `c."recognizerId"`)}
      UNION ALL
      SELECT r."recognizerId", string_agg(CASE WHEN r.correct THEN '1' ELSE '0' END, '' ORDER BY m.id) AS flags,
             array_agg(DISTINCT m."configHash") AS "configHashes"
        FROM "Metamer" m JOIN "Recognition" r ON r."metamerId" = m.id
       WHERE m."modelId" = ${generatorId}::uuid AND m.stage = ${stage} AND m.passed
         AND CASE WHEN ${sel.batchIds}::uuid[] IS NOT NULL THEN m."batchId" = ANY(${sel.batchIds}::uuid[])
                  ELSE m."configHash" IN (SELECT ch."configHash" FROM chosen ch) END
         AND ${visibleSql(viewer, "METAMER", "m")} AND ${recognizerVisible(viewer, `r."recognizerId"`)}
       GROUP BY r."recognizerId"`;
    return rows.map((r) => ({
      recognizerId: r.recognizerId,
      flags: Uint8Array.from(r.flags, (c) => (c === "1" ? 1 : 0)),
      configHashes: r.configHashes,
    }));
  }

  /**
   * Accuracy per (recognizer, stage) of one generator's metamers of the selected configurations, in network order:
   * the curve of one recognizer or of all of them (the service averages over recognizers). The natural point is each
   * recognizer on the natural stimuli the selected validated metamers came from.
   */
  async recognizerAccuracyByStage(
    viewer: Viewer,
    generatorId: string,
    sel: ConfigSelection = ALL_CONFIGURATIONS,
  ): Promise<{ recognizerId: string; stage: string; stageLabel: string | null; order: number; n: number; nCorrect: number; configHashes: string[] }[]> {
    const g = Prisma.sql`${generatorId}::uuid`;
    const rows = await this.db.$queryRaw<
      { recognizerId: string; stage: string; stageLabel: string | null; order: number; n: bigint; nCorrect: bigint; configHashes: string[] }[]
    >`
      WITH targets AS MATERIALIZED (
        SELECT DISTINCT x."generatorId" AS generator, x.stage FROM "RecognitionTally" x WHERE x."generatorId" = ${g} AND x.n > 0),
      chosen AS MATERIALIZED (${chosenConfigurations(sel)}),
      hidden AS MATERIALIZED (${hiddenCells(viewer, Prisma.sql`SELECT ${g}`)}),
      partial AS MATERIALIZED (
        SELECT DISTINCT ch.stage FROM chosen ch JOIN hidden h ON h.stage = ch.stage AND h."configHash" = ch."configHash"),
      selected AS MATERIALIZED (
        SELECT m.id, m.stage, m."stimulusId", m."configHash" FROM "Metamer" m
         WHERE m."modelId" = ${g} AND m.passed AND ${visibleSql(viewer, "METAMER", "m")}
           AND CASE WHEN ${sel.batchIds}::uuid[] IS NOT NULL THEN m."batchId" = ANY(${sel.batchIds}::uuid[])
                    ELSE (m.stage, m."configHash") IN (SELECT ch.stage, ch."configHash" FROM chosen ch) END),
      counts AS (
        SELECT c."recognizerId", c.stage, c."nMetamers"::bigint AS n, c."nCorrect"::bigint AS "nCorrect", ARRAY['study:' || c."studyId"] AS "configHashes"
          FROM "CrossModelResult" c WHERE c."generatorId" = ${g} AND ${importedIncluded(sel)} AND ${recognizerVisible(viewer, `c."recognizerId"`)}
        UNION ALL
        SELECT x."recognizerId", x.stage, sum(x.n)::bigint, sum(x."nCorrect")::bigint, array_agg(x."configHash" ORDER BY x."configHash")
          FROM chosen ch JOIN "RecognitionTally" x ON x."generatorId" = ch.generator AND x.stage = ch.stage AND x."configHash" = ch."configHash"
         WHERE x.n > 0 AND ${recognizerVisible(viewer, `x."recognizerId"`)}
           AND NOT EXISTS (SELECT 1 FROM partial p WHERE p.stage = x.stage)
         GROUP BY x."recognizerId", x.stage
        UNION ALL
        SELECT r."recognizerId", s.stage, count(*), count(*) FILTER (WHERE r.correct), array_agg(DISTINCT s."configHash")
          FROM selected s JOIN "Recognition" r ON r."metamerId" = s.id
         WHERE ${sel.batchIds}::uuid[] IS NOT NULL AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY r."recognizerId", s.stage
        UNION ALL
        SELECT r."recognizerId", s.stage, count(*), count(*) FILTER (WHERE r.correct), array_agg(DISTINCT s."configHash")
          FROM partial p JOIN selected s ON s.stage = p.stage JOIN "Recognition" r ON r."metamerId" = s.id
         WHERE ${sel.batchIds}::uuid[] IS NULL AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY r."recognizerId", s.stage
        UNION ALL
        SELECT r."recognizerId", 'natural', count(*), count(*) FILTER (WHERE r.correct), '{}'::text[]
          FROM "Recognition" r
         WHERE r."stimulusId" IN (SELECT s."stimulusId" FROM selected s) AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY r."recognizerId")
      SELECT "recognizerId", stage, ${stageLabelSql(g, Prisma.raw("stage"))} AS "stageLabel",
             ${stageOrderFragment(g, Prisma.raw("stage"))} AS "order", n, "nCorrect", "configHashes"
        FROM counts ORDER BY 4, 2, 1`;
    return rows.map((r) => ({ ...r, order: Number(r.order), n: Number(r.n), nCorrect: Number(r.nCorrect) }));
  }

  /**
   * The cross-model matrix: for every generator (at its stage of `stages`, or at its own final stage when that is null) and every
   * recognizer (of `recognizerIds`, or every one with data when null), the number of validated metamers of the
   * selected configurations and how many the recognizer got right. One query; missing pairs are absent.
   */
  async matrix(viewer: Viewer, generatorIds: string[], recognizerIds: string[] | null, stages: (string | null)[], sel: ConfigSelection = ALL_CONFIGURATIONS): Promise<MatrixCell[]> {
    const rows = await this.db.$queryRaw<
      { generatorId: string; recognizerId: string; stage: string; stageLabel: string | null; n: bigint; nCorrect: bigint; configHashes: string[] }[]
    >`
      WITH targets AS MATERIALIZED (
        SELECT g.id AS generator,
               COALESCE(g.stage, (SELECT l.name FROM "Layer" l WHERE l."modelId" = g.id ORDER BY l."order" DESC LIMIT 1)) AS stage
          FROM unnest(${generatorIds}::uuid[], ${stages}::text[]) AS g(id, stage)),
      chosen AS MATERIALIZED (${chosenConfigurations(sel)}),
      hidden AS MATERIALIZED (${hiddenCells(viewer, Prisma.sql`SELECT t.generator FROM targets t`)}),
      partial AS MATERIALIZED (
        SELECT DISTINCT ch.generator, ch.stage FROM chosen ch
          JOIN hidden h ON h.generator = ch.generator AND h.stage = ch.stage AND h."configHash" = ch."configHash"),
      computed AS (
        -- RecognitionTally holds the per-cell totals of Recognition rows on validated metamers per configuration
        -- (kept by triggers), so this reads one row per cell and configuration instead of every recognition.
        SELECT ch.generator, x."recognizerId", ch.stage, sum(x.n)::bigint AS n, sum(x."nCorrect")::bigint AS "nCorrect",
               array_agg(x."configHash" ORDER BY x."configHash") AS "configHashes"
          FROM chosen ch
          JOIN "RecognitionTally" x ON x."generatorId" = ch.generator AND x.stage = ch.stage AND x."configHash" = ch."configHash"
         WHERE ${inList(`x."recognizerId"`, recognizerIds)} AND x.n > 0 AND ${recognizerVisible(viewer, `x."recognizerId"`)}
           AND NOT EXISTS (SELECT 1 FROM partial p WHERE p.generator = ch.generator AND p.stage = ch.stage)
         GROUP BY ch.generator, x."recognizerId", ch.stage),
      batched AS (
        SELECT t.generator, r."recognizerId", t.stage, count(*) AS n, count(*) FILTER (WHERE r.correct) AS "nCorrect",
               array_agg(DISTINCT m."configHash") AS "configHashes"
          FROM targets t
          JOIN "Metamer" m ON m."modelId" = t.generator AND m.stage = t.stage AND m.passed
          JOIN "Recognition" r ON r."metamerId" = m.id
         WHERE ${sel.batchIds}::uuid[] IS NOT NULL AND m."batchId" = ANY(${sel.batchIds}::uuid[])
           AND ${visibleSql(viewer, "METAMER", "m")}
           AND ${inList(`r."recognizerId"`, recognizerIds)} AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY t.generator, r."recognizerId", t.stage
        UNION ALL
        -- cells with metamers the viewer does not see: its visible ones of the chosen configurations
        SELECT p.generator, r."recognizerId", p.stage, count(*), count(*) FILTER (WHERE r.correct), array_agg(DISTINCT m."configHash")
          FROM partial p
          JOIN chosen ch ON ch.generator = p.generator AND ch.stage = p.stage
          JOIN "Metamer" m ON m."modelId" = p.generator AND m.stage = p.stage AND m."configHash" = ch."configHash" AND m.passed
          JOIN "Recognition" r ON r."metamerId" = m.id
         WHERE ${sel.batchIds}::uuid[] IS NULL AND ${visibleSql(viewer, "METAMER", "m")}
           AND ${inList(`r."recognizerId"`, recognizerIds)} AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY p.generator, r."recognizerId", p.stage),
      imported AS (
        SELECT t.generator, c."recognizerId", t.stage, sum(c."nMetamers") AS n, sum(c."nCorrect") AS "nCorrect",
               array_agg(DISTINCT 'study:' || c."studyId") AS "configHashes"
          FROM targets t
          JOIN "CrossModelResult" c ON c."generatorId" = t.generator AND c.stage = t.stage
         WHERE ${inList(`c."recognizerId"`, recognizerIds)} AND ${importedIncluded(sel)} AND ${recognizerVisible(viewer, `c."recognizerId"`)}
         GROUP BY t.generator, c."recognizerId", t.stage),
      cells AS (
        SELECT generator, "recognizerId", stage, n, "nCorrect", "configHashes" FROM computed
        UNION ALL
        SELECT generator, "recognizerId", stage, n, "nCorrect", "configHashes" FROM batched
        UNION ALL
        SELECT generator, "recognizerId", stage, n, "nCorrect", "configHashes" FROM imported)
      SELECT generator AS "generatorId", "recognizerId", stage, ${stageLabelSql(Prisma.raw("generator"), Prisma.raw("stage"))} AS "stageLabel", n, "nCorrect", "configHashes"
        FROM cells`;
    return rows.map((r) => ({ ...r, n: Number(r.n), nCorrect: Number(r.nCorrect) }));
  }

  /**
   * Idiosyncrasy points: every visible (model, stage) with both human scores (mean over all participant rows,
   * pooled across experiments) and other-model results (mean over recognizers other than the generator of each
   * recognizer's accuracy), matched by exact stage name. `excludeLike` are SQL LIKE patterns.
   */
  async idiosyncrasyPoints(
    viewer: Viewer,
    modality: Modality,
    excludeLike: string[],
    studyId: string | null,
    sel: ConfigSelection = ALL_CONFIGURATIONS,
    recognizerIds: string[] | null = null,
  ): Promise<IdiosyncrasyPointRow[]> {
    const rows = await this.db.$queryRaw<(Omit<IdiosyncrasyPointRow, "participants" | "recognizers"> & { participants: bigint; recognizers: bigint })[]>`
      WITH visible AS (
        SELECT vm.id, vm.name FROM "Model" vm
         WHERE ${visibleSql(viewer, "MODEL", "vm")} AND vm.modality = ${modality}::"Modality"
           AND (${studyId}::uuid IS NULL OR vm."studyId" = ${studyId}::uuid)),
      human AS (
        SELECT h."modelId", h.stage, avg(h."proportionCorrect") AS human, count(*) AS participants
          FROM "HumanScore" h JOIN visible v ON v.id = h."modelId"
         WHERE h.observer = 'HUMAN' AND h."proportionCorrect" IS NOT NULL
         GROUP BY h."modelId", h.stage),
      targets AS MATERIALIZED (
        SELECT DISTINCT x."generatorId" AS generator, x.stage
          FROM "RecognitionTally" x JOIN visible v ON v.id = x."generatorId" WHERE x.n > 0),
      chosen AS MATERIALIZED (${chosenConfigurations(sel)}),
      hidden AS MATERIALIZED (${hiddenCells(viewer, Prisma.sql`SELECT v.id FROM visible v`)}),
      partial AS MATERIALIZED (
        SELECT DISTINCT ch.generator, ch.stage FROM chosen ch
          JOIN hidden h ON h.generator = ch.generator AND h.stage = ch.stage AND h."configHash" = ch."configHash"),
      accuracy AS (
        SELECT c."generatorId", c.stage, c."recognizerId", sum(c."nCorrect")::float8 / sum(c."nMetamers") AS acc,
               array_agg(DISTINCT 'study:' || c."studyId") AS configs
          FROM "CrossModelResult" c JOIN visible v ON v.id = c."generatorId"
         WHERE c."recognizerId" <> c."generatorId" AND c."nMetamers" > 0
           AND ${importedIncluded(sel)} AND ${inList(`c."recognizerId"`, recognizerIds)} AND ${recognizerVisible(viewer, `c."recognizerId"`)}
         GROUP BY c."generatorId", c.stage, c."recognizerId"
        UNION ALL
        -- Computed results of the selected configurations, summed per recognizer over them.
        SELECT x."generatorId", x.stage, x."recognizerId", sum(x."nCorrect")::float8 / sum(x.n),
               array_agg(x."configHash" ORDER BY x."configHash")
          FROM chosen ch
          JOIN "RecognitionTally" x ON x."generatorId" = ch.generator AND x.stage = ch.stage AND x."configHash" = ch."configHash"
         WHERE x."recognizerId" <> x."generatorId" AND x.n > 0 AND ${inList(`x."recognizerId"`, recognizerIds)}
           AND ${recognizerVisible(viewer, `x."recognizerId"`)}
           AND NOT EXISTS (SELECT 1 FROM partial p WHERE p.generator = ch.generator AND p.stage = ch.stage)
         GROUP BY x."generatorId", x.stage, x."recognizerId"
        UNION ALL
        SELECT m."modelId", m.stage, r."recognizerId", avg(CASE WHEN r.correct THEN 1.0 ELSE 0.0 END)::float8,
               array_agg(DISTINCT m."configHash")
          FROM "Metamer" m JOIN visible v ON v.id = m."modelId"
          JOIN "Recognition" r ON r."metamerId" = m.id
         WHERE ${sel.batchIds}::uuid[] IS NOT NULL AND m."batchId" = ANY(${sel.batchIds}::uuid[]) AND m.passed
           AND ${visibleSql(viewer, "METAMER", "m")}
           AND r."recognizerId" <> m."modelId" AND ${inList(`r."recognizerId"`, recognizerIds)} AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY m."modelId", m.stage, r."recognizerId"
        UNION ALL
        -- cells with metamers the viewer does not see: its visible ones of the chosen configurations
        SELECT p.generator, p.stage, r."recognizerId", avg(CASE WHEN r.correct THEN 1.0 ELSE 0.0 END)::float8,
               array_agg(DISTINCT m."configHash")
          FROM partial p
          JOIN chosen ch ON ch.generator = p.generator AND ch.stage = p.stage
          JOIN "Metamer" m ON m."modelId" = p.generator AND m.stage = p.stage AND m."configHash" = ch."configHash" AND m.passed
          JOIN "Recognition" r ON r."metamerId" = m.id
         WHERE ${sel.batchIds}::uuid[] IS NULL AND ${visibleSql(viewer, "METAMER", "m")}
           AND r."recognizerId" <> m."modelId" AND ${inList(`r."recognizerId"`, recognizerIds)} AND ${recognizerVisible(viewer, `r."recognizerId"`)}
         GROUP BY p.generator, p.stage, r."recognizerId"),
      other AS (
        SELECT "generatorId", stage, avg(acc) AS "otherModels", count(*) AS recognizers,
               array_agg("recognizerId" ORDER BY "recognizerId")::text[] AS "recognizerIds",
               ARRAY(SELECT DISTINCT unnest(array_agg(a.configs)) ORDER BY 1) AS "configHashes"
          FROM accuracy a GROUP BY "generatorId", stage)
      SELECT v.id AS "modelId", v.name AS model, h.stage, ${stageLabelSql(Prisma.raw("v.id"), Prisma.raw("h.stage"))} AS "stageLabel",
             h.human, o."otherModels", h.participants, o.recognizers, o."recognizerIds", o."configHashes"
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
  /** The metamer's batch (null when imported). */
  batchId: string | null;
  /** The metamer's configuration (`study:<id>` when imported). */
  configHash: string;
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
  trials(generatorId: string, viewer: Viewer | null = null, sel: ConfigSelection = ALL_CONFIGURATIONS): Promise<TrialRow[]> {
    // Only what the viewer sees (src/store/visibility.ts): visible recognizers, and of computed rows visible metamers.
    // No viewer: every row (trusted callers: tests, scripts on the server).
    return this.db.$queryRaw<TrialRow[]>`
      SELECT * FROM (
      SELECT c."recognizerId", c."generatorId", c.stage, t.i::text AS metamer, t.flag = '1' AS correct, NULL::text AS "predictedLabel",
             NULL::uuid AS "batchId", 'study:' || c."studyId" AS "configHash"
        FROM "CrossModelResult" c,
             LATERAL unnest(string_to_array(c."correctByMetamer", NULL)) WITH ORDINALITY AS t(flag, i)
       WHERE c."generatorId" = ${generatorId}::uuid AND ${importedIncluded(sel)} AND ${viewer ? idVisibleSql(viewer, "MODEL", Prisma.sql`c."recognizerId"`) : Prisma.sql`TRUE`}
      UNION ALL
      -- Every trial of the selected batches or configuration (all configurations when neither: trials are raw rows).
      SELECT r."recognizerId", m."modelId", m.stage, m.id::text, r.correct, r."predictedLabel", m."batchId", m."configHash"
        FROM "Metamer" m JOIN "Recognition" r ON r."metamerId" = m.id
       WHERE m."modelId" = ${generatorId}::uuid
         AND (${sel.batchIds}::uuid[] IS NULL OR m."batchId" = ANY(${sel.batchIds}::uuid[]))
         AND (${sel.configHash}::text IS NULL OR m."configHash" = ${sel.configHash}::text)
         AND ${viewer ? Prisma.sql`${visibleSql(viewer, "METAMER", "m")} AND ${idVisibleSql(viewer, "MODEL", Prisma.sql`r."recognizerId"`)}` : Prisma.sql`TRUE`}
      ) AS u
       ORDER BY stage, "recognizerId", length(metamer), metamer`;
  }
}
