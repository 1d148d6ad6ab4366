import { createHash } from "node:crypto";
import type { BlobStore, StoredBlob } from "../services/ports.js";
import type { DbOrTx } from "./db.js";

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/**
 * Blob bytes in PostgreSQL (`Blob.data`, bytea). A bytea value is limited to 1 GiB, so larger files need the S3
 * implementation; the service's size limit is checked before bytes reach here.
 */
export class PostgresBlobStore implements BlobStore {
  // 1 GiB is PostgreSQL's limit for one field value; keep a margin for the protocol around it.
  readonly maxBlobBytes = 1024 ** 3 - 16 * 1024 ** 2;

  constructor(private readonly db: DbOrTx) {}

  async put(bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    const sha256 = sha256Hex(bytes);
    // Content-addressed: the same bytes always land on the same row, so concurrent puts may safely race.
    await this.db.blob.upsert({
      where: { sha256 },
      create: { sha256, byteSize: BigInt(bytes.byteLength), contentType, storage: "postgres", data: bytes as Uint8Array<ArrayBuffer> },
      update: {},
    });
    return { sha256, byteSize: bytes.byteLength, contentType };
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const row = await this.db.blob.findUnique({ where: { sha256 }, select: { data: true } });
    return row?.data ?? null;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.db.blob.count({ where: { sha256 } })) > 0;
  }

  async head(sha256: string): Promise<StoredBlob | null> {
    const row = await this.db.blob.findUnique({
      where: { sha256 },
      select: { sha256: true, byteSize: true, contentType: true },
    });
    return row ? { sha256: row.sha256, byteSize: Number(row.byteSize), contentType: row.contentType } : null;
  }
}
