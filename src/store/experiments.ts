import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";
import type { Modality } from "../generated/prisma/enums.js";

/**
 * Human experiments (issue 14): the experiment with its design, one row per participant slot (token hash, stored
 * trial list, Prolific ids, status) and one row per answered trial. Decisions (screening, exclusion, scoring) are made
 * by src/services/experiments; this module keeps rows and answers the few reads the services need in one query each.
 */

export type ParticipantStatus = "PENDING" | "STARTED" | "COMPLETED" | "EXCLUDED";

export interface ExperimentRecord {
  id: string;
  groupId: string;
  name: string;
  modality: Modality;
  design: Record<string, unknown>;
  seed: number;
  batchIds: string[];
  stimulusSetId: string;
  studyId: string | null;
  status: "OPEN" | "CLOSED";
  createdAt: Date;
}

export interface ParticipantRecord {
  id: string;
  experimentId: string;
  ordinal: number;
  label: string;
  tokenHash: string | null;
  trials: unknown[];
  prolificPid: string | null;
  prolificStudyId: string | null;
  prolificSessionId: string | null;
  demographics: Record<string, string> | null;
  status: ParticipantStatus;
  exclusionReason: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
}

export interface ResponseRecord {
  participantId: string;
  trialIndex: number;
  response: string;
  correct: boolean;
  rtMs: number;
  onsetMs: number;
  offsetMs: number;
  frames: number;
  refreshHz: number;
  createdAt: Date;
}

export type NewResponse = Omit<ResponseRecord, "createdAt">;

export interface NewParticipant {
  ordinal: number;
  label: string;
  tokenHash: string | null;
  trials: unknown[];
}

export interface BatchMetamer {
  metamerId: string;
  modelId: string;
  stage: string;
  stimulusId: string;
  passed: boolean;
}

const toExperiment = (row: {
  design: unknown;
} & Omit<ExperimentRecord, "design">): ExperimentRecord => ({ ...row, design: row.design as Record<string, unknown> });

const toParticipant = (row: Omit<ParticipantRecord, "trials" | "demographics"> & { trials: unknown; demographics: unknown }): ParticipantRecord => ({
  ...row,
  trials: row.trials as unknown[],
  demographics: (row.demographics ?? null) as Record<string, string> | null,
});

export class ExperimentStore {
  constructor(private readonly db: DbOrTx) {}

  async create(
    experiment: Omit<ExperimentRecord, "id" | "createdAt" | "status">,
    participants: NewParticipant[],
  ): Promise<{ experiment: ExperimentRecord; participants: ParticipantRecord[] }> {
    const row = await this.db.experiment.create({ data: { ...experiment, design: experiment.design as Prisma.InputJsonValue } });
    // One row per statement with the list as JSON text cast by PostgreSQL: a trial list is ~180 kB at the paper's size,
    // and both Prisma's Json path and a text[] of lists (every quote escaped into an array literal) cost far more.
    for (const p of participants) {
      await this.db.$executeRaw`
        INSERT INTO "ExperimentParticipant" (id, "experimentId", ordinal, label, "tokenHash", trials)
        VALUES (gen_random_uuid(), ${row.id}::uuid, ${p.ordinal}, ${p.label}, ${p.tokenHash}, ${JSON.stringify(p.trials)}::jsonb)`;
    }
    // The new rows without reading the lists back (megabytes of JSON): the ids, and the lists as given.
    const ids = await this.db.experimentParticipant.findMany({ where: { experimentId: row.id }, select: { id: true, ordinal: true, createdAt: true }, orderBy: { ordinal: "asc" } });
    const byOrdinal = new Map(participants.map((p) => [p.ordinal, p]));
    return {
      experiment: toExperiment(row),
      participants: ids.map((r) => ({
        ...byOrdinal.get(r.ordinal)!, id: r.id, experimentId: row.id, createdAt: r.createdAt, prolificPid: null, prolificStudyId: null,
        prolificSessionId: null, demographics: null, status: "PENDING" as const, exclusionReason: null, startedAt: null, completedAt: null,
      })),
    };
  }

  async find(groupId: string, id: string): Promise<ExperimentRecord | null> {
    const row = await this.db.experiment.findFirst({ where: { id, groupId } });
    return row ? toExperiment(row) : null;
  }

  async findById(id: string): Promise<ExperimentRecord | null> {
    const row = await this.db.experiment.findUnique({ where: { id } });
    return row ? toExperiment(row) : null;
  }

  async list(groupId: string, first: number): Promise<ExperimentRecord[]> {
    const rows = await this.db.experiment.findMany({ where: { groupId }, orderBy: { createdAt: "desc" }, take: first });
    return rows.map(toExperiment);
  }

  async participants(experimentId: string): Promise<ParticipantRecord[]> {
    const rows = await this.db.experimentParticipant.findMany({ where: { experimentId }, orderBy: { ordinal: "asc" } });
    return rows.map(toParticipant);
  }

  async findParticipantByToken(tokenHash: string): Promise<ParticipantRecord | null> {
    const row = await this.db.experimentParticipant.findUnique({ where: { tokenHash } });
    return row ? toParticipant(row) : null;
  }

  /**
   * The participant row locked for the rest of the transaction (SELECT ... FOR UPDATE): two posts of one participant
   * (two tabs) decide screening and completion one after the other.
   */
  async lockParticipant(id: string): Promise<ParticipantRecord | null> {
    await this.db.$queryRaw`SELECT id FROM "ExperimentParticipant" WHERE id = ${id}::uuid FOR UPDATE`;
    const row = await this.db.experimentParticipant.findUnique({ where: { id } });
    return row ? toParticipant(row) : null;
  }

  async markStarted(id: string, prolific: { pid: string | null; studyId: string | null; sessionId: string | null }): Promise<void> {
    // Prolific ids are kept from the first visit that brought them; a reopened tab without them keeps what was stored.
    await this.db.$executeRaw`
      UPDATE "ExperimentParticipant"
         SET status = CASE WHEN status = 'PENDING' THEN 'STARTED'::"ParticipantStatus" ELSE status END,
             "startedAt" = COALESCE("startedAt", now()),
             "prolificPid" = COALESCE("prolificPid", ${prolific.pid}),
             "prolificStudyId" = COALESCE("prolificStudyId", ${prolific.studyId}),
             "prolificSessionId" = COALESCE("prolificSessionId", ${prolific.sessionId})
       WHERE id = ${id}::uuid`;
  }

  /**
   * Serialises claims of an experiment's open places (two Prolific participants arriving at once) for the rest of the
   * transaction; call first inside `store.transaction`.
   */
  async lockExperiment(experimentId: string): Promise<void> {
    await this.db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`experiment:${experimentId}`}, 0))`;
  }

  /** The participant holding this Prolific id, else the first place nobody has used or claimed; null when none is left. */
  async claimablePlace(experimentId: string, prolificPid: string): Promise<ParticipantRecord | null> {
    const own = await this.db.experimentParticipant.findFirst({ where: { experimentId, prolificPid } });
    if (own) return toParticipant(own);
    const free = await this.db.experimentParticipant.findFirst({
      where: { experimentId, status: "PENDING", prolificPid: null, completedAt: null },
      orderBy: { ordinal: "asc" },
    });
    return free ? toParticipant(free) : null;
  }

  /** Gives a place a new token (its old link stops working) and the Prolific ids of who claimed it. */
  async assignPlace(id: string, tokenHash: string, prolific: { pid: string; studyId: string | null; sessionId: string | null }): Promise<void> {
    await this.db.experimentParticipant.update({
      where: { id },
      data: { tokenHash, prolificPid: prolific.pid, prolificStudyId: prolific.studyId, prolificSessionId: prolific.sessionId },
    });
  }

  async setExperimentStatus(id: string, status: "OPEN" | "CLOSED"): Promise<void> {
    await this.db.experiment.update({ where: { id }, data: { status } });
  }

  async setStatus(id: string, status: ParticipantStatus, reason: string | null, completedAt: Date | null): Promise<void> {
    await this.db.experimentParticipant.update({
      where: { id },
      data: { status, exclusionReason: reason, ...(completedAt ? { completedAt } : {}) },
    });
  }

  async setDemographics(rows: { id: string; demographics: Record<string, string> }[]): Promise<void> {
    for (const r of rows) {
      await this.db.experimentParticipant.update({ where: { id: r.id }, data: { demographics: r.demographics } });
    }
  }

  /** Inserts the response unless this trial was answered already; true when it was new. */
  async insertResponse(r: NewResponse): Promise<boolean> {
    const n = await this.db.$executeRaw`
      INSERT INTO "ExperimentResponse" ("participantId", "trialIndex", response, correct, "rtMs", "onsetMs", "offsetMs", frames, "refreshHz")
      VALUES (${r.participantId}::uuid, ${r.trialIndex}, ${r.response}, ${r.correct}, ${r.rtMs}, ${r.onsetMs}, ${r.offsetMs}, ${r.frames}, ${r.refreshHz})
      ON CONFLICT ("participantId", "trialIndex") DO NOTHING`;
    return n > 0;
  }

  /** Many responses at once (imports); returns how many were inserted. */
  async insertResponses(rows: NewResponse[]): Promise<number> {
    const result = await this.db.experimentResponse.createMany({ data: rows, skipDuplicates: true });
    return result.count;
  }

  responses(participantId: string): Promise<ResponseRecord[]> {
    return this.db.experimentResponse.findMany({
      where: { participantId },
      orderBy: { trialIndex: "asc" },
      select: { participantId: true, trialIndex: true, response: true, correct: true, rtMs: true, onsetMs: true, offsetMs: true, frames: true, refreshHz: true, createdAt: true },
    });
  }

  async answeredIndices(participantId: string): Promise<number[]> {
    const rows = await this.db.experimentResponse.findMany({ where: { participantId }, select: { trialIndex: true }, orderBy: { trialIndex: "asc" } });
    return rows.map((r) => r.trialIndex);
  }

  /** Every response of an experiment's participants, in participant then trial order (trial-level export). */
  experimentResponses(experimentId: string): Promise<ResponseRecord[]> {
    return this.db.experimentResponse.findMany({
      where: { participant: { experimentId } },
      orderBy: [{ participant: { ordinal: "asc" } }, { trialIndex: "asc" }],
      select: { participantId: true, trialIndex: true, response: true, correct: true, rtMs: true, onsetMs: true, offsetMs: true, frames: true, refreshHz: true, createdAt: true },
    });
  }

  /** Answered trials per participant of an experiment (participants without answers are absent). */
  async answeredCounts(experimentId: string): Promise<Map<string, number>> {
    const rows = await this.db.$queryRaw<{ participantId: string; n: bigint }[]>`
      SELECT r."participantId", count(*) AS n
        FROM "ExperimentResponse" r JOIN "ExperimentParticipant" p ON p.id = r."participantId"
       WHERE p."experimentId" = ${experimentId}::uuid
       GROUP BY r."participantId"`;
    return new Map(rows.map((r) => [r.participantId, Number(r.n)]));
  }

  /** The batches of `batchIds` that belong to the group, with their model. */
  async batches(groupId: string, batchIds: string[]): Promise<{ id: string; modelId: string }[]> {
    return this.db.synthesisBatch.findMany({ where: { groupId, id: { in: batchIds } }, select: { id: true, modelId: true } });
  }

  /** Every metamer the batches produced (validated or not). */
  async batchMetamers(batchIds: string[]): Promise<BatchMetamer[]> {
    return this.db.$queryRaw<BatchMetamer[]>`
      SELECT m.id AS "metamerId", m."modelId", m.stage, m."stimulusId", m.passed
        FROM "Metamer" m JOIN "Job" j ON j.id = m."jobId"
       WHERE j."batchId" = ANY(${batchIds}::uuid[])
       ORDER BY m."modelId", m.stage, m."stimulusId", m."createdAt"`;
  }

  /** Stages of the models in network order (the order conditions are listed in). */
  async stageOrder(modelIds: string[]): Promise<Map<string, number>> {
    const rows = await this.db.layer.findMany({ where: { modelId: { in: modelIds } }, select: { modelId: true, name: true, order: true } });
    return new Map(rows.map((r) => [`${r.modelId}/${r.name}`, r.order]));
  }

  /**
   * Stored recognitions by the given models of the given metamers and natural stimuli: the NETWORK column is the
   * generating model's accuracy on exactly the stimuli a participant saw.
   */
  async recognitions(recognizerIds: string[], metamerIds: string[], stimulusIds: string[]): Promise<{ recognizerId: string; metamerId: string | null; stimulusId: string | null; correct: boolean }[]> {
    if (recognizerIds.length === 0) return [];
    return this.db.recognition.findMany({
      where: {
        recognizerId: { in: recognizerIds },
        OR: [{ metamerId: { in: metamerIds } }, { stimulusId: { in: stimulusIds } }],
      },
      select: { recognizerId: true, metamerId: true, stimulusId: true, correct: true },
    });
  }

  /** The files a participant may be shown: a metamer's rendering or a natural stimulus's original file. */
  async metamerRendering(metamerId: string): Promise<string | null> {
    const row = await this.db.metamer.findUnique({ where: { id: metamerId }, select: { renderingSha256: true } });
    return row?.renderingSha256 ?? null;
  }

  async stimulusFile(stimulusId: string): Promise<{ sha256: string; contentType: string } | null> {
    return this.db.stimulus.findUnique({ where: { id: stimulusId }, select: { sha256: true, contentType: true } });
  }

  async linkStudy(experimentId: string, studyId: string): Promise<void> {
    await this.db.experiment.update({ where: { id: experimentId }, data: { studyId } });
  }

  /** Removes the HumanScore rows of one participant (label) in a study, before they are written again. */
  async deleteParticipantScores(studyId: string, experiment: string, participant: string): Promise<void> {
    await this.db.humanScore.deleteMany({ where: { studyId, experiment, participant } });
  }
}
