// Archiving, deleting and the blob sweep (issue 13 item 8): what references a model, stimulus set or batch, removing
// rows nothing references, and the blobs and expired uploads no row needs any more.
import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

export type ArchivableKind = "MODEL" | "STIMULUS_SET" | "SYNTHESIS_BATCH";

/** Counts of the rows that use an object, by what they are (only non-zero entries). */
export type References = Record<string, number>;

/** The (group, archivedAt) of an object, or null when no such row exists. */
export interface ArchivableRow {
  id: string;
  groupId: string;
  name: string;
  archivedAt: Date | null;
}

const nonZero = (counts: Record<string, number | bigint>): References =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)]).filter(([, v]) => (v as number) > 0));

export class ArchiveStore {
  constructor(private readonly db: DbOrTx) {}

  async find(kind: ArchivableKind, id: string): Promise<ArchivableRow | null> {
    if (kind === "MODEL") {
      const r = await this.db.model.findUnique({ where: { id }, select: { id: true, groupId: true, name: true, version: true, archivedAt: true } });
      return r && { id: r.id, groupId: r.groupId, name: `${r.name} v${r.version}`, archivedAt: r.archivedAt };
    }
    if (kind === "STIMULUS_SET") {
      return this.db.stimulusSet.findUnique({ where: { id }, select: { id: true, groupId: true, name: true, archivedAt: true } });
    }
    const r = await this.db.synthesisBatch.findUnique({ where: { id }, select: { id: true, groupId: true, archivedAt: true } });
    return r && { ...r, name: r.id };
  }

  /** Sets (a date) or clears (null) archivedAt. */
  async setArchived(kind: ArchivableKind, id: string, at: Date | null): Promise<void> {
    if (kind === "MODEL") await this.db.model.update({ where: { id }, data: { archivedAt: at } });
    else if (kind === "STIMULUS_SET") await this.db.stimulusSet.update({ where: { id }, data: { archivedAt: at } });
    else await this.db.synthesisBatch.update({ where: { id }, data: { archivedAt: at } });
  }

  /**
   * What uses a model: batches and metamers it generated, recognizer panels, shares, imported human scores. Its own
   * derived rows (layers, null distributions, recognitions it made as a recognizer and their jobs) are not counted:
   * they are deleted with it.
   */
  async modelReferences(id: string): Promise<References> {
    const [batches, metamers, panels, shares, humanScores] = await Promise.all([
      this.db.synthesisBatch.count({ where: { modelId: id } }),
      this.db.metamer.count({ where: { modelId: id } }),
      this.db.recognizerPanel.count({ where: { modelIds: { has: id } } }),
      this.db.share.count({ where: { objectKind: "MODEL", objectId: id, revokedAt: null } }),
      this.db.humanScore.count({ where: { modelId: id } }),
    ]);
    return nonZero({ batches, metamers, "recognizer panels": panels, shares, "human scores": humanScores });
  }

  /** What uses a stimulus set: synthesis jobs and metamers of its stimuli, experiments, shares. */
  async stimulusSetReferences(id: string): Promise<References> {
    const [jobs, metamers, experiments, shares] = await Promise.all([
      this.db.job.count({ where: { kind: "SYNTHESIS", stimulus: { setId: id } } }),
      this.db.metamer.count({ where: { stimulus: { setId: id } } }),
      this.db.experiment.count({ where: { stimulusSetId: id } }),
      this.db.share.count({ where: { objectKind: "STIMULUS_SET", objectId: id, revokedAt: null } }),
    ]);
    return nonZero({ "synthesis jobs": jobs, metamers, experiments, shares });
  }

  /**
   * What uses a batch: experiments that show its metamers, shares, and its own jobs still queued or running (cancel
   * first). Its jobs and metamers themselves are its content, deleted with it.
   */
  async batchReferences(id: string): Promise<References> {
    const [experiments, shares, active] = await Promise.all([
      this.db.experiment.count({ where: { batchIds: { has: id } } }),
      this.db.share.count({ where: { objectKind: "SYNTHESIS_BATCH", objectId: id, revokedAt: null } }),
      this.db.job.count({ where: { batchId: id, status: { in: ["QUEUED", "RUNNING"] } } }),
    ]);
    return nonZero({ experiments, shares, "queued or running jobs": active });
  }

  /** Deletes the row (its derived rows cascade); returns the blob addresses it referenced, for the sweep. */
  async deleteModel(id: string): Promise<string[]> {
    const row = await this.db.model.delete({ where: { id }, select: { sha256: true } });
    return row.sha256 ? [row.sha256] : [];
  }

  async deleteStimulusSet(id: string): Promise<string[]> {
    const stimuli = await this.db.stimulus.findMany({ where: { setId: id }, select: { sha256: true, tensors: { select: { blobSha256: true } } } });
    await this.db.stimulusSet.delete({ where: { id } });
    return stimuli.flatMap((s) => [s.sha256, ...s.tensors.map((t) => t.blobSha256)]);
  }

  async deleteSynthesisBatch(id: string): Promise<string[]> {
    const metamers = await this.db.metamer.findMany({ where: { job: { batchId: id } }, select: { tensorSha256: true, renderingSha256: true, sha256: true } });
    // Jobs cascade from the batch, metamers from their jobs, recognitions (and the tallies' triggers) from metamers.
    await this.db.synthesisBatch.delete({ where: { id } });
    return metamers.flatMap((m) => [m.tensorSha256, m.renderingSha256, m.sha256]);
  }

  /**
   * Deletes Blob rows (their chunks and grants cascade) that no row references and that are older than `before`
   * (a blob is written a moment before the row that uses it). `only`: limit to these addresses. Bytes kept in S3
   * (storage 's3') are left alone: their objects need the bucket client (not swept yet). Returns what was deleted.
   */
  async sweepBlobs(before: Date, only?: string[]): Promise<{ sha256: string; byteSize: number }[]> {
    if (only && only.length === 0) return [];
    const restrict = only ? Prisma.sql`AND b."sha256" = ANY(${[...new Set(only)]}::text[])` : Prisma.empty;
    const rows = await this.db.$queryRaw<{ sha256: string; byteSize: bigint }[]>`
      DELETE FROM "Blob" b
       WHERE b."storage" = 'postgres' AND b."createdAt" < ${before}::timestamptz ${restrict}
         AND NOT EXISTS (SELECT 1 FROM "Model" m WHERE m."sha256" = b."sha256")
         AND NOT EXISTS (SELECT 1 FROM "Stimulus" s WHERE s."sha256" = b."sha256")
         AND NOT EXISTS (SELECT 1 FROM "StimulusTensor" t WHERE t."blobSha256" = b."sha256")
         AND NOT EXISTS (SELECT 1 FROM "Metamer" x WHERE x."tensorSha256" = b."sha256" OR x."renderingSha256" = b."sha256" OR x."sha256" = b."sha256")
         AND NOT EXISTS (SELECT 1 FROM "Upload" u WHERE u."status" <> 'CONSUMED' AND (u."blobSha256" = b."sha256" OR u."sha256" = b."sha256"))
      RETURNING b."sha256", b."byteSize"`;
    return rows.map((r) => ({ sha256: r.sha256, byteSize: Number(r.byteSize) }));
  }

  /** Deletes uploads not consumed by their expiry (a PENDING one never arrived, a COMPLETE one was never used). */
  async sweepExpiredUploads(now: Date): Promise<number> {
    const r = await this.db.upload.deleteMany({ where: { status: { not: "CONSUMED" }, expiresAt: { lt: now } } });
    return r.count;
  }
}
