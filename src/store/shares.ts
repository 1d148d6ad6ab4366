// Share rows: a group's grant of read-only access to one of its objects. Only src/store/visibility.ts reads them to
// decide access; this module writes and lists them.
import type { DbOrTx } from "./db.js";
import type { ShareObjectKind, ShareTargetKind } from "../generated/prisma/enums.js";
import { afterTimeId, timeIdKey, toPage, type Page } from "./pagination.js";

export type { ShareObjectKind, ShareTargetKind };

export interface ShareRecord {
  id: string;
  ownerGroupId: string;
  objectKind: ShareObjectKind;
  objectId: string;
  targetKind: ShareTargetKind;
  targetGroupId: string | null;
  consortiumId: string | null;
  partnerGroup: string | null;
  embargoUntil: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export type NewShare = Omit<ShareRecord, "id" | "revokedAt" | "createdAt">;

export interface ShareFilter {
  objectKind?: ShareObjectKind;
  objectId?: string;
  /** include revoked shares (default: only active and embargoed ones) */
  includeRevoked?: boolean;
}

/** The table of each shareable kind, to check that the owner group owns the object. */
const OWNED = {
  MODEL: (db: DbOrTx, groupId: string, id: string) => db.model.count({ where: { id, groupId } }),
  STIMULUS_SET: (db: DbOrTx, groupId: string, id: string) => db.stimulusSet.count({ where: { id, groupId } }),
  SYNTHESIS_BATCH: (db: DbOrTx, groupId: string, id: string) => db.synthesisBatch.count({ where: { id, groupId } }),
  STUDY: (db: DbOrTx, groupId: string, id: string) => db.study.count({ where: { id, groupId } }),
} satisfies Record<ShareObjectKind, unknown>;

export class ShareStore {
  constructor(private readonly db: DbOrTx) {}

  /** True when `groupId` owns the object (only an owner shares). */
  async owns(groupId: string, kind: ShareObjectKind, id: string): Promise<boolean> {
    return (await OWNED[kind](this.db, groupId, id)) > 0;
  }

  create(share: NewShare): Promise<ShareRecord> {
    return this.db.share.create({ data: share });
  }

  /** An active (not revoked) share of the same object with the same target, if any: sharing twice is one share. */
  findActiveSame(share: NewShare): Promise<ShareRecord | null> {
    return this.db.share.findFirst({
      where: {
        ownerGroupId: share.ownerGroupId,
        objectKind: share.objectKind,
        objectId: share.objectId,
        targetKind: share.targetKind,
        targetGroupId: share.targetGroupId,
        consortiumId: share.consortiumId,
        partnerGroup: share.partnerGroup,
        revokedAt: null,
      },
    });
  }

  /** Changes the embargo of an active share (sharing again with another date). */
  updateEmbargo(id: string, embargoUntil: Date | null): Promise<ShareRecord> {
    return this.db.share.update({ where: { id }, data: { embargoUntil } });
  }

  /** Marks one of the group's shares revoked at `at`; null when the group has no such active share. */
  async revoke(ownerGroupId: string, id: string, at: Date): Promise<ShareRecord | null> {
    const r = await this.db.share.updateMany({ where: { id, ownerGroupId, revokedAt: null }, data: { revokedAt: at } });
    return r.count > 0 ? this.db.share.findUnique({ where: { id } }) : null;
  }

  /** The metamers of a batch (to schedule their recognition by the groups a share opens them to). */
  async metamerIdsOfBatch(batchId: string): Promise<string[]> {
    const rows = await this.db.metamer.findMany({ where: { job: { batchId } }, select: { id: true }, orderBy: { id: "asc" } });
    return rows.map((r) => r.id);
  }

  /** The group's shares, newest first. */
  async list(ownerGroupId: string, opts: { first: number; after?: string | null; filter?: ShareFilter }): Promise<Page<ShareRecord>> {
    const f = opts.filter ?? {};
    const where = {
      ownerGroupId,
      ...(f.objectKind ? { objectKind: f.objectKind } : {}),
      ...(f.objectId ? { objectId: f.objectId } : {}),
      ...(f.includeRevoked ? {} : { revokedAt: null }),
    };
    const keyset = opts.after ? afterTimeId(opts.after) : {};
    const [rows, totalCount] = await Promise.all([
      this.db.share.findMany({ where: { AND: [where, keyset] }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: opts.first + 1 }),
      this.db.share.count({ where }),
    ]);
    return toPage(rows, opts.first, totalCount, timeIdKey, (r) => r);
  }
}
