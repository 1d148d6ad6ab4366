import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

/** A model-level reference null of one stage (prisma ReferenceNull); `measured`, `maxima`, `quantiles` null until computed. */
export interface ReferenceNullRecord {
  id: string;
  groupId: string;
  modelId: string;
  setId: string;
  stage: string;
  augmentation: Record<string, unknown> | null;
  augmentationKey: string;
  n: number;
  seed: number;
  jobId: string | null;
  measured: number | null;
  maxima: Record<string, number | string> | null;
  quantiles: Record<string, Record<string, number | string>> | null;
  elapsedMs: number | null;
  createdAt: Date;
  completedAt: Date | null;
}

/** What identifies a reference null besides its stage. */
export interface ReferenceNullKey {
  modelId: string;
  setId: string;
  augmentationKey: string;
  n: number;
  seed: number;
}

type Row = Prisma.ReferenceNullGetPayload<object>;

function toRecord(r: Row): ReferenceNullRecord {
  return {
    ...r,
    augmentation: (r.augmentation ?? null) as Record<string, unknown> | null,
    maxima: (r.maxima ?? null) as ReferenceNullRecord["maxima"],
    quantiles: (r.quantiles ?? null) as ReferenceNullRecord["quantiles"],
  };
}

/** Reference nulls: created when a caller asks for one, filled by its job, read by certificates. */
export class ReferenceNullStore {
  constructor(private readonly db: DbOrTx) {}

  /** The rows of `key` at these stages that exist already. */
  async findStages(key: ReferenceNullKey, stages: string[]): Promise<ReferenceNullRecord[]> {
    const rows = await this.db.referenceNull.findMany({ where: { ...key, stage: { in: stages } } });
    return rows.map(toRecord);
  }

  /** Creates the missing (key, stage) rows, all pointing at `jobId` (null: none yet); existing rows are left alone. */
  async createMissing(
    groupId: string,
    key: ReferenceNullKey,
    augmentation: Record<string, unknown> | null,
    stages: string[],
    jobId: string | null,
  ): Promise<void> {
    await this.db.referenceNull.createMany({
      data: stages.map((stage) => ({
        groupId, ...key, stage, jobId,
        augmentation: augmentation === null ? Prisma.JsonNull : (augmentation as Prisma.InputJsonValue),
      })),
      skipDuplicates: true,
    });
  }

  async find(id: string): Promise<ReferenceNullRecord | null> {
    const row = await this.db.referenceNull.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async findMany(ids: string[]): Promise<ReferenceNullRecord[]> {
    const rows = await this.db.referenceNull.findMany({ where: { id: { in: ids } } });
    return rows.map(toRecord);
  }

  /** A group's reference nulls, newest first (optionally of one model). */
  async list(groupId: string, modelId: string | null, take: number): Promise<ReferenceNullRecord[]> {
    const rows = await this.db.referenceNull.findMany({
      where: { groupId, ...(modelId ? { modelId } : {}) },
      orderBy: [{ createdAt: "desc" }, { stage: "asc" }],
      take,
    });
    return rows.map(toRecord);
  }

  /** The job's results, one stage at a time (in the transaction that completes the job). */
  async saveResult(id: string, result: { measured: number; maxima: Record<string, unknown>; quantiles: Record<string, unknown>; elapsedMs: number }): Promise<void> {
    await this.db.referenceNull.update({
      where: { id },
      data: {
        measured: result.measured,
        maxima: result.maxima as Prisma.InputJsonValue,
        quantiles: result.quantiles as Prisma.InputJsonValue,
        elapsedMs: result.elapsedMs,
        completedAt: new Date(),
      },
    });
  }

  /** Points rows whose job failed at a new job (a retry of the same null). */
  async reassignJob(ids: string[], jobId: string): Promise<void> {
    await this.db.referenceNull.updateMany({ where: { id: { in: ids } }, data: { jobId } });
  }
}
