import type { DbOrTx } from "./db.js";
import type { UploadPurpose, UploadStatus } from "../generated/prisma/enums.js";

export interface UploadRecord {
  id: string;
  groupId: string;
  purpose: UploadPurpose;
  byteSize: number;
  sha256: string;
  status: UploadStatus;
  blobSha256: string | null;
  createdAt: Date;
  expiresAt: Date;
}

type Row = Omit<UploadRecord, "byteSize"> & { byteSize: bigint };
const toRecord = (r: Row): UploadRecord => ({ ...r, byteSize: Number(r.byteSize) });

/** Two-step uploads: a row is created by createUpload, completed by PUT /uploads/<id>, consumed by a mutation. */
export class UploadStore {
  constructor(private readonly db: DbOrTx) {}

  async create(input: { groupId: string; purpose: UploadPurpose; byteSize: number; sha256: string; expiresAt: Date }) {
    return toRecord(await this.db.upload.create({ data: { ...input, byteSize: BigInt(input.byteSize) } }));
  }

  /** The upload if it exists and belongs to the group (another group's upload is reported as missing). */
  async find(groupId: string, id: string): Promise<UploadRecord | null> {
    const row = await this.db.upload.findFirst({ where: { id, groupId } });
    return row ? toRecord(row) : null;
  }

  /** PENDING -> COMPLETE, atomically; false if it was no longer PENDING (another request completed it). */
  async markComplete(id: string, blobSha256: string): Promise<boolean> {
    const r = await this.db.upload.updateMany({ where: { id, status: "PENDING" }, data: { status: "COMPLETE", blobSha256 } });
    return r.count === 1;
  }

  /** COMPLETE -> CONSUMED, atomically; false if it was not COMPLETE (already used, or never uploaded). */
  async markConsumed(id: string): Promise<boolean> {
    const r = await this.db.upload.updateMany({ where: { id, status: "COMPLETE" }, data: { status: "CONSUMED" } });
    return r.count === 1;
  }
}
