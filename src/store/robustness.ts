// Robustness evaluations (issue 12 item 8): one row per evaluation, one outcome per (stimulus, epsilon) written by
// the ROBUSTNESS job that attacked it, and the per-epsilon results written once by the chunk that completes it.
import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

export interface RobustnessEvaluationRecord {
  id: string;
  groupId: string;
  modelId: string;
  setId: string;
  norm: string;
  epsilons: number[];
  steps: number;
  stepSize: number;
  randomStart: boolean;
  seed: number;
  modelSha256: string;
  software: Record<string, unknown>;
  n: number;
  jobIds: string[];
  results: unknown;
  createdAt: Date;
  completedAt: Date | null;
}

export type NewRobustnessEvaluation = Omit<RobustnessEvaluationRecord, "id" | "jobIds" | "results" | "createdAt" | "completedAt">;

export interface RobustnessOutcomeRecord {
  stimulusId: string;
  epsilon: number;
  correct: boolean;
  predicted: number;
}

type Row = Prisma.RobustnessEvaluationGetPayload<object>;

const toRecord = (r: Row): RobustnessEvaluationRecord => ({ ...r, software: r.software as Record<string, unknown>, results: r.results ?? null });

export class RobustnessStore {
  constructor(private readonly db: DbOrTx) {}

  async create(input: NewRobustnessEvaluation): Promise<RobustnessEvaluationRecord> {
    const row = await this.db.robustnessEvaluation.create({ data: { ...input, software: input.software as Prisma.InputJsonValue } });
    return toRecord(row);
  }

  async setJobs(id: string, jobIds: string[]): Promise<void> {
    await this.db.robustnessEvaluation.update({ where: { id }, data: { jobIds } });
  }

  async find(id: string): Promise<RobustnessEvaluationRecord | null> {
    const row = await this.db.robustnessEvaluation.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** A group's evaluations of one model, newest first. */
  async list(groupId: string, modelId: string, take: number): Promise<RobustnessEvaluationRecord[]> {
    const rows = await this.db.robustnessEvaluation.findMany({ where: { groupId, modelId }, orderBy: { createdAt: "desc" }, take });
    return rows.map(toRecord);
  }

  /**
   * Locks the evaluation row until the transaction ends: the chunks that finish at the same time then count each
   * other's committed outcomes one after the other, so exactly one of them sees the evaluation complete.
   */
  async lock(id: string): Promise<void> {
    await this.db.$queryRaw`SELECT id FROM "RobustnessEvaluation" WHERE id = ${id}::uuid FOR UPDATE`;
  }

  /** Writes a chunk's outcomes; a retried chunk's rows (same stimulus and epsilon) are kept, not doubled. */
  async insertOutcomes(evaluationId: string, outcomes: RobustnessOutcomeRecord[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.db.robustnessOutcome.createMany({ data: outcomes.map((o) => ({ evaluationId, ...o })), skipDuplicates: true });
  }

  async outcomeCount(evaluationId: string): Promise<number> {
    return this.db.robustnessOutcome.count({ where: { evaluationId } });
  }

  /** Every outcome, in a stable order (stimulus, then epsilon), for the results' bootstrap. */
  async outcomes(evaluationId: string): Promise<RobustnessOutcomeRecord[]> {
    return this.db.robustnessOutcome.findMany({
      where: { evaluationId },
      select: { stimulusId: true, epsilon: true, correct: true, predicted: true },
      orderBy: [{ stimulusId: "asc" }, { epsilon: "asc" }],
    });
  }

  async saveResults(id: string, results: unknown, software: Record<string, string>): Promise<void> {
    await this.db.robustnessEvaluation.update({
      where: { id },
      data: { results: results as Prisma.InputJsonValue, software, completedAt: new Date() },
    });
  }
}
