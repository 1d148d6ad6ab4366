import { Prisma, type DbOrTx } from "./db.js";
import type { StimulusRecord } from "./stimuli.js";
import { rowGroupViewer, visibleSql } from "./visibility.js";

/**
 * Recognition rows: one per (recognizer, metamer) or (recognizer, natural stimulus). The unique indexes on
 * (recognizerId, metamerId) and (recognizerId, stimulusId) plus `ON CONFLICT DO NOTHING` make every pair evaluated
 * and stored exactly once, even when two workers race on overlapping jobs.
 */

export interface PendingMetamer {
  id: string;
  /** The saved rendering (PNG/WAV): what the recognizer classifies (issue 12 item 4). */
  renderingSha256: string;
  /** What a correct recognizer answers, in the recognizer's label space (truthSql). */
  label: string;
  /** The generator's input shape (the metamer tensor's shape). */
  inputShape: number[];
  /** The generator's declared input range: the rendering's values are rescaled from it to the recognizer's. */
  inputRange: number[];
  modality: "IMAGE" | "AUDIO";
}

/** A natural stimulus to classify, with its label in the recognizer's label space. */
export type PendingStimulus = StimulusRecord & { truth: string };

/**
 * The answer a correct recognizer `r` gives for a stimulus labelled `s.label`, in r's label space, or NULL when r
 * cannot be scored on it (issue 12 item 5). `rm` is r's label map, `gm` the generator's (both LEFT JOINed "LabelMap"
 * rows, NULL when absent). Without a map r answers in its own classes: the label itself, or its category under the
 * generator's map when that is one of r's classes (a 16-way model on a 1000-way model's metamers). With a map r answers
 * in the map's categories: the label when it names a category, its category under r's map, or under the generator's
 * map when that category is one of r's (models with different classes but a shared target label set).
 */
const truthSql = Prisma.sql`
  CASE WHEN rm.id IS NULL THEN
         CASE WHEN s.label = ANY(r."classLabels") THEN s.label
              WHEN (gm."classToCategory" ->> s.label) = ANY(r."classLabels") THEN gm."classToCategory" ->> s.label END
       ELSE COALESCE(CASE WHEN s.label = ANY(rm."categoryNames") THEN s.label END,
                     rm."classToCategory" ->> s.label,
                     CASE WHEN (gm."classToCategory" ->> s.label) = ANY(rm."categoryNames") THEN gm."classToCategory" ->> s.label END)
  END`;

/**
 * Input compatibility of recognizer r with generator g: same modality and input shape, and both declare an input range
 * (the rendering is rescaled linearly from g's declared range to r's, so the ranges may differ).
 */
const compatibleSql = Prisma.sql`r.modality = g.modality AND r."inputShape" = g."inputShape"
  AND cardinality(r."inputRange") = 2 AND cardinality(g."inputRange") = 2
  AND r."inputRange"[1] < r."inputRange"[2] AND g."inputRange"[1] < g."inputRange"[2]`;

export interface NewRecognition {
  recognizerId: string;
  metamerId: string | null;
  stimulusId: string | null;
  predictedLabel: string;
  correct: boolean;
}

export class RecognitionStore {
  constructor(private readonly db: DbOrTx) {}

  /**
   * Of `metamerIds`, the metamers `recognizerId` has not classified yet and can classify (input compatibility and a
   * target in its label space, as in recognizersForMetamers), with what classifying them needs.
   */
  pendingMetamers(recognizerId: string, metamerIds: string[]): Promise<PendingMetamer[]> {
    return this.db.$queryRaw<PendingMetamer[]>`
      SELECT * FROM (
        SELECT m.id, m."renderingSha256", ${truthSql} AS label, g."inputShape", g."inputRange", g.modality::text AS modality
          FROM "Metamer" m
          JOIN "Stimulus" s ON s.id = m."stimulusId"
          JOIN "Model" g ON g.id = m."modelId"
          JOIN "Model" r ON r.id = ${recognizerId}::uuid AND ${compatibleSql}
          LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
          LEFT JOIN "LabelMap" gm ON gm.id = g."labelMapId"
         WHERE m.id = ANY(${metamerIds}::uuid[])
           AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."metamerId" = m.id)) p
       WHERE p.label IS NOT NULL
       ORDER BY p.id`;
  }

  /** Of `stimulusIds`, the natural stimuli `recognizerId` has not classified yet, with their label in its label space. */
  pendingStimuli(recognizerId: string, stimulusIds: string[]): Promise<PendingStimulus[]> {
    return this.db.$queryRaw<PendingStimulus[]>`
      SELECT * FROM (
        SELECT s.id, s."setId", s."groupId", s.label, s.filename, s."contentType", s.sha256, s.position, s."createdAt",
               ${truthSql} AS truth
          FROM "Stimulus" s
          JOIN "Model" r ON r.id = ${recognizerId}::uuid
          LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
          LEFT JOIN "LabelMap" gm ON false
         WHERE s.id = ANY(${stimulusIds}::uuid[])
           AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."stimulusId" = s.id)) p
       WHERE p.truth IS NOT NULL
       ORDER BY p.id`;
  }

  /** Inserts in one statement; pairs already present are skipped. Returns how many rows were new. */
  insert(rows: NewRecognition[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    return this.db.$executeRaw`
      INSERT INTO "Recognition" (id, "recognizerId", "metamerId", "stimulusId", "predictedLabel", correct)
      SELECT gen_random_uuid(), r.recognizer, r.metamer, r.stimulus, r.label, r.correct
        FROM unnest(${rows.map((r) => r.recognizerId)}::uuid[], ${rows.map((r) => r.metamerId)}::uuid[],
                    ${rows.map((r) => r.stimulusId)}::uuid[], ${rows.map((r) => r.predictedLabel)}::text[],
                    ${rows.map((r) => r.correct)}::boolean[]) AS r(recognizer, metamer, stimulus, label, correct)
      ON CONFLICT DO NOTHING`;
  }

  /**
   * Recognizers for newly finished metamers: models of the metamers' group or shared with it, and models of groups the
   * metamers' batch is shared with (src/store/visibility.ts), with an ONNX file,
   * the generator's modality and input shape and a declared input range (the saved rendering, rescaled from the
   * generator's declared range to the recognizer's, is a valid input; each model normalises inside itself), and a label
   * space in which the stimulus has an answer (truthSql: its classes, or its label map's categories). The generator itself is included (it gives the
   * GENERATOR observer). Returns recognizer -> metamer ids still to classify (validated metamers only) and the
   * natural stimuli of those metamers it has not classified.
   */
  async recognizersForMetamers(metamerIds: string[]): Promise<{ recognizerId: string; groupId: string; metamerIds: string[]; stimulusIds: string[] }[]> {
    const now = new Date();
    const rows = await this.db.$queryRaw<{ recognizerId: string; groupId: string; metamerIds: string[]; stimulusIds: string[] }[]>`
      SELECT r.id AS "recognizerId",
             -- whose work (and results) it is: the recognizer's group when it sees the metamers (its own, or shared
             -- with it), else the metamers' group using a recognizer shared with it
             CASE WHEN ${visibleSql(rowGroupViewer(`r."groupId"`, now), "METAMER", "m")} THEN r."groupId" ELSE m."groupId" END AS "groupId",
             array_agg(m.id ORDER BY m.id)::text[] AS "metamerIds",
             -- The metamers' natural stimuli too, when this recognizer has not classified them yet: they give the
             -- natural point of its recognizability curves.
             COALESCE(array_agg(DISTINCT s.id) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM "Recognition" y WHERE y."recognizerId" = r.id AND y."stimulusId" = s.id)
               -- a natural stimulus is scored in the recognizer's own label space (truthSql without a generator map)
               AND (rm.id IS NULL AND s.label = ANY(r."classLabels")
                    OR (rm."classToCategory" ->> s.label) IS NOT NULL OR s.label = ANY(rm."categoryNames"))), '{}')::text[] AS "stimulusIds"
        FROM "Metamer" m
        JOIN "Stimulus" s ON s.id = m."stimulusId"
        JOIN "Model" g ON g.id = m."modelId"
        -- Pairs by the visibility rule: the recognizer's group sees the metamer (its own, or a batch shared with it:
        -- the results are then that group's), or the metamer's group may use the recognizer (a model shared with it).
        JOIN "Model" r ON (${visibleSql(rowGroupViewer(`r."groupId"`, now), "METAMER", "m")}
                           OR ${visibleSql(rowGroupViewer(`m."groupId"`, now), "MODEL_FILE", "r")})
                      AND ${compatibleSql}
                      AND r.sha256 IS NOT NULL AND r."outputName" IS NOT NULL
        LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
        LEFT JOIN "LabelMap" gm ON gm.id = g."labelMapId"
       WHERE (${truthSql}) IS NOT NULL AND m.id = ANY(${metamerIds}::uuid[]) AND m.passed
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."metamerId" = m.id)
       GROUP BY r.id, 2`;
    return rows;
  }

  /**
   * For a newly registered model (or one whose recognitions were deleted: a new label map, the upgrade to rendered
   * recognition): the validated metamers and natural stimuli of its group it can classify (same modality; metamers
   * also need the same input shape and a declared range; an answer in its label space) and has not classified yet.
   */
  async unrecognizedFor(recognizerId: string): Promise<{ metamerIds: string[]; stimulusIds: string[] }> {
    // The same pairing as recognizersForMetamers: metamers its group sees, or of a group that may use it.
    const now = new Date();
    const metamers = await this.db.$queryRaw<{ id: string }[]>`
      SELECT m.id
        FROM "Model" r
        JOIN "Metamer" m ON m.passed AND (${visibleSql(rowGroupViewer(`r."groupId"`, now), "METAMER", "m")}
                                          OR ${visibleSql(rowGroupViewer(`m."groupId"`, now), "MODEL_FILE", "r")})
        JOIN "Model" g ON g.id = m."modelId" AND ${compatibleSql}
        JOIN "Stimulus" s ON s.id = m."stimulusId"
        LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
        LEFT JOIN "LabelMap" gm ON gm.id = g."labelMapId"
       WHERE r.id = ${recognizerId}::uuid AND (${truthSql}) IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."metamerId" = m.id)
       ORDER BY m.id`;
    const stimuli = await this.db.$queryRaw<{ id: string }[]>`
      SELECT s.id
        FROM "Model" r
        JOIN "StimulusSet" st ON st."groupId" = r."groupId" AND st.modality = r.modality
        JOIN "Stimulus" s ON s."setId" = st.id
        LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
        LEFT JOIN "LabelMap" gm ON false
       WHERE r.id = ${recognizerId}::uuid AND (${truthSql}) IS NOT NULL
         -- A reference set (training-like images for null distributions) is not a set of natural stimuli to score:
         -- the demo's 8,000 training digits would cost every new model 8,000 recognitions no result reads. Its
         -- stimuli that are also metamer targets still come in through the second part.
         AND NOT EXISTS (SELECT 1 FROM "ReferenceNull" rn WHERE rn."setId" = st.id)
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."stimulusId" = s.id)
      UNION
      -- the natural stimuli of the metamers above (another group's, when shared), for the curves' natural point
      SELECT m."stimulusId" FROM "Metamer" m
        JOIN "Stimulus" s ON s.id = m."stimulusId"
        JOIN "Model" r ON r.id = ${recognizerId}::uuid
        LEFT JOIN "LabelMap" rm ON rm.id = r."labelMapId"
        LEFT JOIN "LabelMap" gm ON false
       WHERE m.id = ANY(${metamers.map((r) => r.id)}::uuid[]) AND (${truthSql}) IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = ${recognizerId}::uuid AND x."stimulusId" = m."stimulusId")
       ORDER BY 1`;
    return { metamerIds: metamers.map((r) => r.id), stimulusIds: stimuli.map((r) => r.id) };
  }

  /** The rows of one recognizer (for tests and checks). */
  rowsFor(recognizerId: string): Promise<NewRecognition[]> {
    return this.db.$queryRaw<NewRecognition[]>`
      SELECT "recognizerId", "metamerId", "stimulusId", "predictedLabel", correct
        FROM "Recognition" WHERE "recognizerId" = ${recognizerId}::uuid ORDER BY "metamerId", "stimulusId"`;
  }

  /** Recognition rows of one recognizer (counts by kind), for progress and tests. */
  async countFor(recognizerId: string): Promise<{ metamers: number; stimuli: number }> {
    const [row] = await this.db.$queryRaw<{ metamers: bigint; stimuli: bigint }[]>`
      SELECT count(*) FILTER (WHERE "metamerId" IS NOT NULL) AS metamers, count(*) FILTER (WHERE "stimulusId" IS NOT NULL) AS stimuli
        FROM "Recognition" WHERE "recognizerId" = ${recognizerId}::uuid`;
    return { metamers: Number(row.metamers), stimuli: Number(row.stimuli) };
  }
}
