import { AppError } from "../errors.js";
import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";
import type { BatchRecord, JobCounts } from "./jobs.js";
import type { MetamerRecord } from "./metamers.js";
import { decodeCursor, toPage, type Page } from "./pagination.js";
import { VisibilityStore, type Viewer } from "./visibility.js";

/**
 * Lists of metamers and synthesis batches with filters (issue 13 item 1). One grammar (README "Listing and
 * filtering"): every field given must hold (AND); a list field matches any of its values (`in`); a missing or null
 * field does not filter. Only what the viewer may read (src/store/visibility.ts) is listed or counted.
 */

export type ListOrder = "NEWEST_FIRST" | "OLDEST_FIRST";

export interface MetamerListFilter {
  modelIds?: string[] | null;
  /** Tensor names (the service resolves labels). */
  stages?: string[] | null;
  stimulusSetIds?: string[] | null;
  batchIds?: string[] | null;
  /** The natural stimulus' label. */
  labels?: string[] | null;
  passed?: boolean | null;
  seeds?: number[] | null;
  configHashes?: string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

export interface BatchListFilter {
  modelIds?: string[] | null;
  configHashes?: string[] | null;
  cancelled?: boolean | null;
  /** true: only archived batches; otherwise archived batches are hidden (issue 13) */
  archived?: boolean | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

const inList = <T>(values: T[] | null | undefined) => (values ? { in: values } : undefined);

function createdRange(f: { createdAfter?: Date | null; createdBefore?: Date | null }) {
  return f.createdAfter || f.createdBefore ? { createdAt: { ...(f.createdAfter ? { gte: f.createdAfter } : {}), ...(f.createdBefore ? { lt: f.createdBefore } : {}) } } : {};
}

/** "After the cursor" in (createdAt, id) order, either direction. */
function after(cursor: string | null | undefined, order: ListOrder) {
  if (!cursor) return {};
  const [createdAt, id] = decodeCursor(cursor);
  const at = new Date(String(createdAt));
  if (typeof createdAt !== "string" || Number.isNaN(at.getTime()) || typeof id !== "string" || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError("BAD_USER_INPUT", `after: expected a cursor from this list, got '${cursor.slice(0, 40)}'`);
  }
  const op = order === "NEWEST_FIRST" ? "lt" : "gt";
  return { OR: [{ createdAt: { [op]: at } }, { createdAt: at, id: { [op]: id } }] };
}

const orderBy = (order: ListOrder) => {
  const dir = order === "NEWEST_FIRST" ? ("desc" as const) : ("asc" as const);
  return [{ createdAt: dir }, { id: dir }];
};
const keyOf = (r: { createdAt: Date; id: string }) => [r.createdAt.toISOString(), r.id];

export class ListingStore {
  constructor(private readonly db: DbOrTx) {}

  async metamers(viewer: Viewer, filter: MetamerListFilter, page: { first: number; after?: string | null; order: ListOrder }): Promise<Page<MetamerRecord>> {
    const where: Prisma.MetamerWhereInput = {
      AND: [
        await new VisibilityStore(this.db).where(viewer, "METAMER"),
        {
          modelId: inList(filter.modelIds),
          stage: inList(filter.stages),
          batchId: inList(filter.batchIds),
          passed: filter.passed ?? undefined,
          seed: inList(filter.seeds),
          configHash: inList(filter.configHashes),
          ...createdRange(filter),
          ...(filter.stimulusSetIds || filter.labels ? { stimulus: { setId: inList(filter.stimulusSetIds), label: inList(filter.labels) } } : {}),
        },
      ],
    };
    const [rows, total] = await Promise.all([
      this.db.metamer.findMany({ where: { AND: [where, after(page.after, page.order)] }, orderBy: orderBy(page.order), take: page.first + 1 }),
      this.db.metamer.count({ where }),
    ]);
    return toPage(rows, page.first, total, keyOf, (r) => ({
      ...r,
      config: r.config as Record<string, unknown>,
      history: r.history as unknown[],
      certificate: r.certificate as Record<string, unknown>,
      softwareVersions: r.softwareVersions as Record<string, string>,
    }));
  }

  async batches(viewer: Viewer, filter: BatchListFilter, page: { first: number; after?: string | null; order: ListOrder }): Promise<Page<BatchRecord>> {
    const where: Prisma.SynthesisBatchWhereInput = {
      AND: [
        await new VisibilityStore(this.db).where(viewer, "SYNTHESIS_BATCH"),
        {
          modelId: inList(filter.modelIds),
          configHash: inList(filter.configHashes),
          ...(filter.cancelled == null ? {} : { cancelledAt: filter.cancelled ? { not: null } : null }),
          archivedAt: filter.archived ? { not: null } : null,
          ...createdRange(filter),
        },
      ],
    };
    const [rows, total] = await Promise.all([
      this.db.synthesisBatch.findMany({ where: { AND: [where, after(page.after, page.order)] }, orderBy: orderBy(page.order), take: page.first + 1 }),
      this.db.synthesisBatch.count({ where }),
    ]);
    return toPage(rows, page.first, total, keyOf, (r) => ({ ...r, config: r.config as Record<string, unknown> }));
  }

  /** Job counts of several batches in one query. */
  async countsByBatches(batchIds: string[]): Promise<Map<string, JobCounts>> {
    const groups = await this.db.job.groupBy({ by: ["batchId", "status"], where: { batchId: { in: batchIds } }, _count: { _all: true } });
    const out = new Map<string, JobCounts>(batchIds.map((id) => [id, { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }]));
    for (const g of groups) if (g.batchId) out.get(g.batchId)![g.status.toLowerCase() as keyof JobCounts] = g._count._all;
    return out;
  }
}
