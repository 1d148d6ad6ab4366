// Interfaces the services depend on and the store/dispatch layers implement.
import type { Readable } from "node:stream";

/**
 * Content-addressed bytes. Storage-agnostic on purpose: the Postgres implementation keeps them in chunk rows, an S3 one
 * will keep them in a bucket behind the same methods, so nothing here names a database or a driver.
 * Large files only ever move as streams (`putStream`, `openRead`); `get` is for files a caller needs whole in memory
 * anyway (a model for onnxruntime, a stimulus tensor).
 */
export interface BlobStore {
  /** Largest single blob this store can hold. */
  readonly maxBlobBytes: number;
  /** Stores the bytes under their sha256 (a no-op when already present); returns the address. */
  put(bytes: Uint8Array, contentType: string): Promise<StoredBlob>;
  /**
   * Stores bytes from a stream, hashing them as they arrive, without holding more than a chunk or two in memory.
   * The blob becomes visible only once every byte arrived and `expected` held; on any failure (a `BlobCheckError`,
   * the source failing, a broken connection) nothing is stored. Storing bytes that are already present is a no-op, and
   * concurrent writes of the same bytes are safe. It commits on its own, never inside a caller's transaction.
   */
  putStream(source: AsyncIterable<Uint8Array>, contentType: string, expected?: BlobExpectation): Promise<StoredBlob>;
  /** The bytes in one buffer, or null when no blob has that address. */
  get(sha256: string): Promise<Uint8Array | null>;
  /**
   * A stream of the bytes (all, or `range`: first and last byte, inclusive, within the blob), or null when no blob has
   * that address. A range outside the blob is a `RangeError`: callers check it against `head`.
   */
  openRead(sha256: string, range?: ByteRange): Promise<BlobReadStream | null>;
  has(sha256: string): Promise<boolean>;
  /** Metadata only (no bytes), or null. */
  head(sha256: string): Promise<StoredBlob | null>;
  /**
   * Present on stores that clients can reach directly (S3): downloads and uploads then go by presigned URL, so large
   * bytes never pass through the API. Absent on the Postgres store, whose bytes only the API can serve.
   */
  readonly direct?: DirectBlobAccess;
}

/** Presigned URLs of a store that clients can reach directly, and the staged uploads behind them. */
export interface DirectBlobAccess {
  /** A URL that GETs the blob's bytes (Range works on it) until `expiresSeconds` from now. */
  presignGet(sha256: string, expiresSeconds: number, options?: { filename?: string }): Promise<string>;
  /**
   * A URL (and the headers the client must send with it) that accepts exactly one PUT of the declared bytes into the
   * staging area of upload `uploadId`. Nothing PUT there is a blob until `adoptUpload` checked it.
   */
  presignUpload(uploadId: string, expected: { byteSize: number; sha256: string }, expiresSeconds: number): Promise<PresignedPut>;
  /**
   * Checks what was PUT for `uploadId` (size, then sha256) and makes it the blob; null when nothing was PUT yet. A
   * refused object is deleted (a `BlobCheckError` says why), so the client can PUT again.
   */
  adoptUpload(uploadId: string, contentType: string, expected: { byteSize: number; sha256: string }): Promise<StoredBlob | null>;
}

export interface PresignedPut {
  url: string;
  headers: { name: string; value: string }[];
}

/** What a streamed write must match; each one is checked while or right after the bytes arrive. */
export interface BlobExpectation {
  /** Lower-case hex sha256 the bytes must hash to. */
  sha256?: string;
  /** Exact number of bytes; more is refused as soon as it arrives, fewer once the source ends. */
  byteSize?: number;
  /** Refuse as soon as more than this many bytes arrived (for writes of unknown size). */
  maxBytes?: number;
}

/** Why a streamed write was refused (nothing was stored). The service turns it into a user-facing error. */
export class BlobCheckError extends Error {
  constructor(
    /** TOO_LARGE: more than byteSize / maxBytes arrived; TOO_SHORT: the source ended early; SHA256: the hash differs */
    readonly reason: "TOO_LARGE" | "TOO_SHORT" | "SHA256",
    readonly expected: string | number,
    readonly actual: string | number,
  ) {
    super(`blob refused (${reason}): expected ${expected}, got ${actual}`);
    this.name = "BlobCheckError";
  }
}

/** Byte offsets of a range, both inclusive (as in HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobReadStream {
  blob: StoredBlob;
  /** The bytes delivered: the whole blob, or `range`. */
  range: ByteRange | null;
  stream: Readable;
}

export interface StoredBlob {
  sha256: string;
  byteSize: number;
  contentType: string;
}

/**
 * How queued jobs reach a worker. The job rows in PostgreSQL are the truth; a dispatcher only makes a worker look
 * sooner (local pool: wake the worker processes; Lambda: invoke the function once per job; Batch: start GPU workers
 * that drain the table). Losing a dispatch is
 * harmless: pool workers also poll, and a Lambda job can be re-dispatched. Implemented in src/dispatch/.
 */
export interface Dispatcher {
  readonly kind: "local" | "lambda" | "batch" | "none";
  dispatch(jobIds: string[]): Promise<void>;
  close(): Promise<void>;
}

/** For processes that only enqueue (tests, an API node without workers): jobs wait for whichever worker polls. */
export class NoDispatcher implements Dispatcher {
  readonly kind = "none" as const;
  async dispatch(): Promise<void> {}
  async close(): Promise<void> {}
}
