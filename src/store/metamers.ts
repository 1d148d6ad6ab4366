import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";
import { VisibilityStore, type Viewer } from "./visibility.js";

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

/** Verdicts of one (model, stage) summed over its certificates. */
export interface StageCertificateCounts {
  stage: string;
  metamers: number;
  passed: number;
  /** Certificates with a metric whose null maximum sat at the ceiling. */
  uninformative: number;
  /** Of those, the ones that passed (passing said nothing about that metric). */
  passedUninformative: number;
  /** Certificates whose null had < 10,000 pairs or came from the synthesis set (older ones: the per-set null, so all). */
  underpowered: number;
}

/** One metamer of a batch with what its seed spread needs: tensor, similarity, recognitions by other models. */
export interface SeedMetamerRow {
  id: string;
  stimulusId: string;
  stage: string;
  seed: number;
  passed: boolean;
  tensorSha256: string;
  similarity: Record<string, number | string>;
  /** Recognitions by models other than the generator, and how many were correct. */
  recognitions: number;
  correct: number;
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

  /** A metamer of the group, or null (for acts on the group's own data). */
  async find(groupId: string, id: string): Promise<MetamerRecord | null> {
    const row = await this.db.metamer.findFirst({ where: { id, groupId } });
    return row ? toRecord(row) : null;
  }

  /** A metamer the viewer may read (own, or of a shared batch: src/store/visibility.ts), or null. */
  async findVisible(viewer: Viewer, id: string): Promise<MetamerRecord | null> {
    if (!(await new VisibilityStore(this.db).isVisible(viewer, "METAMER", id))) return null;
    const row = await this.db.metamer.findUnique({ where: { id } });
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

  /**
   * Per stage of a model (optionally of one batch): how many certificates passed, were uninformative at the ceiling
   * and were underpowered. Certificates written before these markers existed: `tiedAtCeiling` stands for
   * `uninformative`, and their null was the per-set one (underpowered).
   */
  async certificateCounts(modelId: string, batchId: string | null): Promise<StageCertificateCounts[]> {
    const rows = await this.db.$queryRaw<{ stage: string; metamers: bigint; passed: bigint; uninformative: bigint; passedUninformative: bigint; underpowered: bigint }[]>`
      WITH c AS (
        SELECT stage, passed,
               jsonb_array_length(COALESCE(certificate->'uninformative', certificate->'tiedAtCeiling', '[]'::jsonb)) > 0 AS uninformative,
               COALESCE((certificate->>'underpowered')::boolean, true) AS underpowered
          FROM "Metamer"
         WHERE "modelId" = ${modelId}::uuid AND (${batchId}::uuid IS NULL OR "batchId" = ${batchId}::uuid))
      SELECT stage, count(*) AS metamers, count(*) FILTER (WHERE passed) AS passed,
             count(*) FILTER (WHERE uninformative) AS uninformative,
             count(*) FILTER (WHERE uninformative AND passed) AS "passedUninformative",
             count(*) FILTER (WHERE underpowered) AS underpowered
        FROM c GROUP BY stage ORDER BY stage`;
    return rows.map((r) => ({
      stage: r.stage,
      metamers: Number(r.metamers),
      passed: Number(r.passed),
      uninformative: Number(r.uninformative),
      passedUninformative: Number(r.passedUninformative),
      underpowered: Number(r.underpowered),
    }));
  }

  /** The metamers of a batch, by (stimulus, stage, seed), with their other-model recognitions. */
  async batchSeedRows(batchId: string): Promise<SeedMetamerRow[]> {
    const rows = await this.db.$queryRaw<(Omit<SeedMetamerRow, "recognitions" | "correct"> & { recognitions: bigint; correct: bigint })[]>`
      SELECT m.id, m."stimulusId", m.stage, m.seed, m.passed, m."tensorSha256", m.certificate->'similarity' AS similarity,
             count(r.id) FILTER (WHERE r."recognizerId" <> m."modelId") AS recognitions,
             count(r.id) FILTER (WHERE r."recognizerId" <> m."modelId" AND r.correct) AS correct
        FROM "Metamer" m JOIN "Job" j ON j.id = m."jobId"
        LEFT JOIN "Recognition" r ON r."metamerId" = m.id
       WHERE j."batchId" = ${batchId}::uuid
       GROUP BY m.id
       ORDER BY m."stimulusId", m.stage, m.seed`;
    return rows.map((r) => ({ ...r, recognitions: Number(r.recognitions), correct: Number(r.correct) }));
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
