import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

export interface MetamerRecord {
  id: string;
  jobId: string;
  groupId: string;
  modelId: string;
  stimulusId: string;
  stage: string;
  seed: number;
  config: Record<string, unknown>;
  history: unknown[];
  certificate: Record<string, unknown>;
  passed: boolean;
  tensorSha256: string;
  renderingSha256: string;
  /** sha256 of the float32 tensor bytes (the metamer's identity). */
  sha256: string;
  softwareVersions: Record<string, string>;
  createdAt: Date;
}

export type NewMetamer = Omit<MetamerRecord, "id" | "createdAt">;

export interface NullDistributionRecord {
  id: string;
  modelId: string;
  setId: string;
  stage: string;
  n: number;
  seed: number;
  maxima: Record<string, number>;
  quantiles: Record<string, Record<string, number>>;
  createdAt: Date;
}

type MetamerRow = Prisma.MetamerGetPayload<object>;

function toRecord(r: MetamerRow): MetamerRecord {
  return {
    ...r,
    config: r.config as Record<string, unknown>,
    history: r.history as unknown[],
    certificate: r.certificate as Record<string, unknown>,
    softwareVersions: r.softwareVersions as Record<string, string>,
  };
}

/** Finished metamers and the null distributions their certificates are judged against. */
export class MetamerStore {
  constructor(private readonly db: DbOrTx) {}

  async create(m: NewMetamer): Promise<MetamerRecord> {
    const row = await this.db.metamer.create({
      data: {
        ...m,
        config: m.config as Prisma.InputJsonValue,
        history: m.history as Prisma.InputJsonValue,
        certificate: m.certificate as Prisma.InputJsonValue,
        softwareVersions: m.softwareVersions as Prisma.InputJsonValue,
      },
    });
    return toRecord(row);
  }

  async find(groupId: string, id: string): Promise<MetamerRecord | null> {
    const row = await this.db.metamer.findFirst({ where: { id, groupId } });
    return row ? toRecord(row) : null;
  }

  async findByJob(jobId: string): Promise<MetamerRecord | null> {
    const row = await this.db.metamer.findUnique({ where: { jobId } });
    return row ? toRecord(row) : null;
  }

  async idsByJobs(jobIds: string[]): Promise<Map<string, string>> {
    const rows = await this.db.metamer.findMany({ where: { jobId: { in: jobIds } }, select: { id: true, jobId: true } });
    return new Map(rows.map((r) => [r.jobId, r.id]));
  }

  async countByBatch(batchId: string): Promise<number> {
    return this.db.metamer.count({ where: { job: { batchId } } });
  }

  async findNullDistribution(modelId: string, setId: string, stage: string): Promise<NullDistributionRecord | null> {
    const row = await this.db.nullDistribution.findUnique({ where: { modelId_setId_stage: { modelId, setId, stage } } });
    return row ? toNullRecord(row) : null;
  }

  async nullDistributionStages(modelId: string, setId: string): Promise<string[]> {
    const rows = await this.db.nullDistribution.findMany({ where: { modelId, setId }, select: { stage: true } });
    return rows.map((r) => r.stage);
  }

  /** Writes (or replaces) the null distributions of several stages at once. */
  async saveNullDistributions(items: Omit<NullDistributionRecord, "id" | "createdAt">[]): Promise<void> {
    for (const item of items) {
      const data = { n: item.n, seed: item.seed, maxima: item.maxima as Prisma.InputJsonValue, quantiles: item.quantiles as Prisma.InputJsonValue };
      await this.db.nullDistribution.upsert({
        where: { modelId_setId_stage: { modelId: item.modelId, setId: item.setId, stage: item.stage } },
        create: { modelId: item.modelId, setId: item.setId, stage: item.stage, ...data },
        update: data,
      });
    }
  }
}

function toNullRecord(r: Prisma.NullDistributionGetPayload<object>): NullDistributionRecord {
  return { ...r, maxima: r.maxima as Record<string, number>, quantiles: r.quantiles as Record<string, Record<string, number>> };
}
