import type { DbOrTx } from "./db.js";
import type { StimulusRecord } from "./stimuli.js";
import { rowGroupViewer, visibleSql } from "./visibility.js";

/**
 * Recognition rows: one per (recognizer, metamer) or (recognizer, natural stimulus). The unique indexes on
 * (recognizerId, metamerId) and (recognizerId, stimulusId) plus `ON CONFLICT DO NOTHING` make every pair evaluated
 * and stored exactly once, even when two workers race on overlapping jobs.
 */

export interface PendingMetamer {
  id: string;
  tensorSha256: string;
  /** The natural stimulus' label: what a correct recognizer answers. */
  label: string;
  /** The generator's input shape (the metamer tensor's shape). */
  inputShape: number[];
}

export interface NewRecognition {
  recognizerId: string;
  metamerId: string | null;
  stimulusId: string | null;
  predictedLabel: string;
  correct: boolean;
}

export class RecognitionStore {
  constructor(private readonly db: DbOrTx) {}

  /** Of `metamerIds`, the metamers `recognizerId` has not classified yet, with what classifying them needs. */
  pendingMetamers(recognizerId: string, metamerIds: string[]): Promise<PendingMetamer[]> {
    return this.db.$queryRaw<PendingMetamer[]>`
      SELECT m.id, m."tensorSha256", s.label, g."inputShape"
        FROM "Metamer" m
        JOIN "Stimulus" s ON s.id = m."stimulusId"
        JOIN "Model" g ON g.id = m."modelId"
       WHERE m.id = ANY(${metamerIds}::uuid[])
         AND NOT EXISTS (SELECT 1 FROM "Recognition" r WHERE r."recognizerId" = ${recognizerId}::uuid AND r."metamerId" = m.id)
       ORDER BY m.id`;
  }

  /** Of `stimulusIds`, the natural stimuli `recognizerId` has not classified yet. */
  pendingStimuli(recognizerId: string, stimulusIds: string[]): Promise<StimulusRecord[]> {
    return this.db.$queryRaw<StimulusRecord[]>`
      SELECT s.id, s."setId", s."groupId", s.label, s.filename, s."contentType", s.sha256, s.position, s."createdAt"
        FROM "Stimulus" s
       WHERE s.id = ANY(${stimulusIds}::uuid[])
         AND NOT EXISTS (SELECT 1 FROM "Recognition" r WHERE r."recognizerId" = ${recognizerId}::uuid AND r."stimulusId" = s.id)
       ORDER BY s.id`;
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
   * the generator's modality and input shape (so the metamer tensor is a valid input; each model normalises inside
   * itself), and a label space that contains the stimulus' label. The generator itself is included (it gives the
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
               SELECT 1 FROM "Recognition" y WHERE y."recognizerId" = r.id AND y."stimulusId" = s.id)), '{}')::text[] AS "stimulusIds"
        FROM "Metamer" m
        JOIN "Stimulus" s ON s.id = m."stimulusId"
        JOIN "Model" g ON g.id = m."modelId"
        -- Pairs by the visibility rule: the recognizer's group sees the metamer (its own, or a batch shared with it:
        -- the results are then that group's), or the metamer's group may use the recognizer (a model shared with it).
        JOIN "Model" r ON (${visibleSql(rowGroupViewer(`r."groupId"`, now), "METAMER", "m")}
                           OR ${visibleSql(rowGroupViewer(`m."groupId"`, now), "MODEL_FILE", "r")})
                      AND r.modality = g.modality AND r."inputShape" = g."inputShape"
                      AND r.sha256 IS NOT NULL AND r."outputName" IS NOT NULL
                      AND s.label = ANY(r."classLabels")
       WHERE m.id = ANY(${metamerIds}::uuid[]) AND m.passed
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."metamerId" = m.id)
       GROUP BY r.id, 2`;
    return rows;
  }

  /**
   * For a newly registered model: the validated metamers and natural stimuli of its group it can classify (same
   * modality; metamers also need the same input shape; labels in its label space) and has not classified yet.
   */
  async unrecognizedFor(recognizerId: string): Promise<{ metamerIds: string[]; stimulusIds: string[] }> {
    // The same pairing as recognizersForMetamers: metamers its group sees, or of a group that may use it.
    const now = new Date();
    const metamers = await this.db.$queryRaw<{ id: string }[]>`
      SELECT m.id
        FROM "Model" r
        JOIN "Metamer" m ON m.passed AND (${visibleSql(rowGroupViewer(`r."groupId"`, now), "METAMER", "m")}
                                          OR ${visibleSql(rowGroupViewer(`m."groupId"`, now), "MODEL_FILE", "r")})
        JOIN "Model" g ON g.id = m."modelId" AND g.modality = r.modality AND g."inputShape" = r."inputShape"
        JOIN "Stimulus" s ON s.id = m."stimulusId" AND s.label = ANY(r."classLabels")
       WHERE r.id = ${recognizerId}::uuid
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."metamerId" = m.id)
       ORDER BY m.id`;
    const stimuli = await this.db.$queryRaw<{ id: string }[]>`
      SELECT s.id
        FROM "Model" r
        JOIN "StimulusSet" st ON st."groupId" = r."groupId" AND st.modality = r.modality
        JOIN "Stimulus" s ON s."setId" = st.id AND s.label = ANY(r."classLabels")
       WHERE r.id = ${recognizerId}::uuid
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = r.id AND x."stimulusId" = s.id)
      UNION
      -- the natural stimuli of the metamers above (another group's, when shared), for the curves' natural point
      SELECT m."stimulusId" FROM "Metamer" m
       WHERE m.id = ANY(${metamers.map((r) => r.id)}::uuid[])
         AND NOT EXISTS (SELECT 1 FROM "Recognition" x WHERE x."recognizerId" = ${recognizerId}::uuid AND x."stimulusId" = m."stimulusId")
       ORDER BY 1`;
    return { metamerIds: metamers.map((r) => r.id), stimulusIds: stimuli.map((r) => r.id) };
  }

  /** Recognition rows of one recognizer (counts by kind), for progress and tests. */
  async countFor(recognizerId: string): Promise<{ metamers: number; stimuli: number }> {
    const [row] = await this.db.$queryRaw<{ metamers: bigint; stimuli: bigint }[]>`
      SELECT count(*) FILTER (WHERE "metamerId" IS NOT NULL) AS metamers, count(*) FILTER (WHERE "stimulusId" IS NOT NULL) AS stimuli
        FROM "Recognition" WHERE "recognizerId" = ${recognizerId}::uuid`;
    return { metamers: Number(row.metamers), stimuli: Number(row.stimuli) };
  }
}
