import { createHash, randomUUID } from "node:crypto";
import { constants as bufferConstants } from "node:buffer";
import { Readable } from "node:stream";
import {
  BlobCheckError,
  type BlobExpectation,
  type BlobReadStream,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
} from "../services/ports.js";
import type { ChunkTable } from "./blob-chunks.js";
import type { Db, DbOrTx } from "./db.js";

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

const KiB = 1024;
const MiB = 1024 * KiB;
/** Default chunk size: large enough that a 2 GiB model is 256 rows, small enough that one chunk in memory is nothing. */
export const DEFAULT_CHUNK_BYTES = 8 * MiB;
export const MIN_CHUNK_BYTES = 4 * KiB;
export const MAX_CHUNK_BYTES = 64 * MiB;
/** Chunks a whole-file read (`get`) fetches at once; the chunk connection pool holds 4. */
const PARALLEL_READS = 3;
/** A streamed write whose newest chunk is older than this is taken as abandoned (its process died) and swept. */
const ABANDONED_AFTER_MS = 24 * 60 * 60_000;

/** What every PostgresBlobStore of one Store shares: the chunk connection pool and the chunk size for new blobs. */
export interface BlobBackend {
  chunks: ChunkTable;
  chunkBytes: number;
}

export function checkChunkBytes(chunkBytes: number): number {
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new Error(`blob chunk size: expected a whole number of bytes from ${MIN_CHUNK_BYTES} to ${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
  }
  return chunkBytes;
}

/** Reads `length` bytes of chunk `index` of a blob, from byte `from` of that chunk. */
type SliceReader = (sha256: string, index: number, from: number, length: number) => Promise<Uint8Array>;

interface ChunkedHead extends StoredBlob {
  chunkBytes: number;
}

/**
 * Blob bytes in PostgreSQL as `BlobChunk` rows of `chunkBytes` (the blob's own size, recorded on its row). Streams
 * (uploads, downloads, large models) go through node-postgres (`ChunkTable`) and are written under a pending id that
 * becomes the sha256 only once the bytes were checked. Small buffered writes inside a transaction go through Prisma, so
 * they commit or roll back with the rest of it; reads inside a transaction do too, so they see its own writes.
 */
export class PostgresBlobStore implements BlobStore {
  // Chunk rows lift PostgreSQL's 1 GiB per value; the service's per-purpose limits are what bound a file.
  readonly maxBlobBytes = Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly db: DbOrTx,
    private readonly backend: BlobBackend,
    /** True for the copy bound to a `store.transaction(...)`. */
    private readonly inTransaction: boolean,
  ) {}

  async put(bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    if (this.inTransaction) return this.putInTransaction(this.db, bytes, contentType);
    // One transaction, so a crash cannot leave a Blob row without all of its chunks.
    return (this.db as Db).$transaction((tx) => this.putInTransaction(tx, bytes, contentType), {
      timeout: 60_000,
    });
  }

  private async putInTransaction(tx: DbOrTx, bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    const sha256 = sha256Hex(bytes);
    const chunkBytes = this.backend.chunkBytes;
    // Content-addressed: the same bytes always land on the same row. ON CONFLICT DO NOTHING makes a concurrent insert
    // of the same bytes wait for the first transaction and then skip, so concurrent puts may safely race.
    const { count } = await tx.blob.createMany({
      data: [{ sha256, byteSize: BigInt(bytes.byteLength), contentType, storage: "postgres", chunkBytes }],
      skipDuplicates: true,
    });
    if (count === 1) {
      for (let index = 0; index * chunkBytes < bytes.byteLength; index++) {
        const data = bytes.subarray(index * chunkBytes, (index + 1) * chunkBytes) as Uint8Array<ArrayBuffer>;
        await tx.blobChunk.create({ data: { sha256, index, data }, select: { id: true } });
      }
    }
    return { sha256, byteSize: bytes.byteLength, contentType };
  }

  async putStream(source: AsyncIterable<Uint8Array>, contentType: string, expected: BlobExpectation = {}): Promise<StoredBlob> {
    const { chunks, chunkBytes } = this.backend;
    const limit = Math.min(expected.byteSize ?? Infinity, expected.maxBytes ?? Infinity, this.maxBlobBytes);
    const pendingId = randomUUID();
    const hash = createHash("sha256");
    let received = 0;
    let written = 0; // chunks handed to the database
    let current = Buffer.allocUnsafe(chunkBytes);
    let filled = 0;
    // One insert may run while the next chunk fills (two chunks in memory at most); its failure is awaited below, and
    // the no-op catch only keeps Node from reporting it as unhandled while the loop waits for the source.
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async (data: Buffer) => {
      await inFlight;
      const index = written++;
      inFlight = chunks.insertPending(pendingId, index, data);
      inFlight.catch(() => {});
    };
    try {
      await chunks.sweepAbandoned(ABANDONED_AFTER_MS);
      for await (const piece of source) {
        if (received + piece.byteLength > limit) {
          throw new BlobCheckError("TOO_LARGE", limit, received + piece.byteLength);
        }
        hash.update(piece);
        received += piece.byteLength;
        for (let offset = 0; offset < piece.byteLength; ) {
          const n = Math.min(piece.byteLength - offset, chunkBytes - filled);
          current.set(piece.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === chunkBytes) {
            await flush(current);
            current = Buffer.allocUnsafe(chunkBytes);
            filled = 0;
          }
        }
      }
      if (filled > 0) await flush(current.subarray(0, filled));
      await inFlight;
      if (expected.byteSize !== undefined && received !== expected.byteSize) {
        throw new BlobCheckError("TOO_SHORT", expected.byteSize, received);
      }
      const sha256 = hash.digest("hex");
      if (expected.sha256 !== undefined && sha256 !== expected.sha256) throw new BlobCheckError("SHA256", expected.sha256, sha256);
      await chunks.commit(pendingId, written, { sha256, byteSize: received, contentType, chunkBytes });
      return { sha256, byteSize: received, contentType };
    } catch (e) {
      await inFlight.catch(() => {});
      // If this cleanup fails too (database gone), the sweep removes the rows later; the caller needs the first error.
      if (written > 0) await chunks.discard(pendingId).catch(() => {});
      throw e;
    }
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const head = await this.chunkedHead(sha256);
    if (!head) return null;
    if (head.byteSize > bufferConstants.MAX_LENGTH) {
      throw new Error(`blob ${sha256}: ${head.byteSize} bytes do not fit in one buffer (at most ${bufferConstants.MAX_LENGTH}); stream it`);
    }
    const out = Buffer.allocUnsafe(head.byteSize);
    const read = this.sliceReader();
    const count = Math.ceil(head.byteSize / head.chunkBytes);
    let next = 0;
    // A few chunks at once: most of a chunk read is PostgreSQL reassembling it from TOAST, which then runs on several
    // cores. Inside a transaction there is one connection, so one at a time.
    const reader = async () => {
      for (let index = next++; index < count; index = next++) {
        const length = Math.min(head.chunkBytes, head.byteSize - index * head.chunkBytes);
        const part = await read(head.sha256, index, 0, length);
        if (part.byteLength !== length) {
          throw new Error(`blob ${sha256}: chunk ${index} holds ${part.byteLength} bytes, expected ${length}`);
        }
        out.set(part, index * head.chunkBytes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.inTransaction ? 1 : PARALLEL_READS, count) }, reader));
    return out;
  }

  async openRead(sha256: string, range?: ByteRange): Promise<BlobReadStream | null> {
    const head = await this.chunkedHead(sha256);
    if (!head) return null;
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && 0 <= range.start && range.start <= range.end && range.end < head.byteSize)) {
      throw new RangeError(`blob ${sha256}: range ${range.start}-${range.end} is outside its ${head.byteSize} bytes`);
    }
    const { start, end } = range ?? { start: 0, end: head.byteSize - 1 };
    // Byte mode with a one-chunk high-water mark: at most one chunk is read ahead of a slow client.
    const stream = Readable.from(this.slices(head, start, end), { objectMode: false, highWaterMark: head.chunkBytes });
    const { chunkBytes: _, ...blob } = head;
    return { blob, range: range ?? null, stream };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.db.blob.count({ where: { sha256 } })) > 0;
  }

  async head(sha256: string): Promise<StoredBlob | null> {
    const head = await this.chunkedHead(sha256);
    if (!head) return null;
    const { chunkBytes: _, ...blob } = head;
    return blob;
  }

  private async chunkedHead(sha256: string): Promise<ChunkedHead | null> {
    const row = await this.db.blob.findUnique({
      where: { sha256 },
      select: { sha256: true, byteSize: true, contentType: true, storage: true, chunkBytes: true },
    });
    if (!row) return null;
    if (row.storage !== "postgres" || !row.chunkBytes) {
      throw new Error(`blob ${sha256} is kept in '${row.storage}', which this Postgres blob store cannot read`);
    }
    return { sha256: row.sha256, byteSize: Number(row.byteSize), contentType: row.contentType, chunkBytes: row.chunkBytes };
  }

  /** Bytes `start`..`end` (inclusive) in pieces of at most one chunk, one query per piece, each checked for length. */
  private async *slices(head: ChunkedHead, start: number, end: number): AsyncGenerator<Uint8Array> {
    const read = this.sliceReader();
    for (let pos = start; pos <= end; ) {
      const index = Math.floor(pos / head.chunkBytes);
      const from = pos - index * head.chunkBytes;
      const length = Math.min(head.chunkBytes - from, end - pos + 1);
      const part = await read(head.sha256, index, from, length);
      if (part.byteLength !== length) {
        throw new Error(`blob ${head.sha256}: chunk ${index} gave ${part.byteLength} bytes from offset ${from}, expected ${length}`);
      }
      yield part;
      pos += length;
    }
  }

  private sliceReader(): SliceReader {
    if (!this.inTransaction) return (sha, index, from, length) => this.backend.chunks.readSlice(sha, index, from, length);
    return async (sha, index, from, length) => {
      const rows = await this.db.$queryRaw<{ data: Uint8Array }[]>`
        SELECT substring("data" FROM ${from + 1}::int FOR ${length}::int) AS data
          FROM "BlobChunk" WHERE "sha256" = ${sha} AND "index" = ${index}::int`;
      if (!rows.length) throw new Error(`blob ${sha}: chunk ${index} is missing`);
      return rows[0].data;
    };
  }
}
