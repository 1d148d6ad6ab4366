import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  BlobCheckError,
  type BlobExpectation,
  type BlobReadStream,
  type BlobStore,
  type ByteRange,
  type DirectBlobAccess,
  type PresignedPut,
  type StoredBlob,
} from "../services/ports.js";
import type { DbOrTx } from "./db.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3 refuses parts below 5 MiB (all but the last) and more than 10,000 parts; CopyObject stops at 5 GiB. */
export const MIN_S3_PART_BYTES = 5 * MiB;
export const DEFAULT_S3_PART_BYTES = 8 * MiB;
const MAX_PARTS = 10_000;
const MAX_COPY_BYTES = 5 * GiB;

export interface S3BlobConfig {
  bucket: string;
  region: string;
  /** An S3-compatible server (MinIO, s3rver in the tests); unset = AWS. */
  endpoint?: string;
  /** Bucket in the path (`<endpoint>/<bucket>/<key>`) instead of the host name; what most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Size of every part of a multipart write but the last (S3 itself wants at least 5 MiB; the tests use less). */
  partBytes?: number;
  /** Explicit keys (tests, S3-compatible servers); unset = the SDK's default chain (the Lambda role in AWS). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** What every S3BlobStore of one Store shares: the client, the bucket, the part size. */
export class S3Backend {
  readonly client: S3Client;
  readonly bucket: string;
  readonly partBytes: number;

  constructor(config: S3BlobConfig) {
    if (!config.bucket) throw new Error("S3 blob store: expected a bucket name (METAMERS_S3_BUCKET), got none");
    this.bucket = config.bucket;
    this.partBytes = config.partBytes ?? DEFAULT_S3_PART_BYTES;
    if (!Number.isSafeInteger(this.partBytes) || this.partBytes < 1) {
      throw new Error(`S3 blob store: part size: expected a positive whole number of bytes, got ${config.partBytes}`);
    }
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle ?? false,
      credentials: config.credentials,
      // The SDK's default CRC32 trailers (aws-chunked bodies) are not understood by every S3-compatible server; the
      // store hashes every byte itself, so checksums are only sent where the API requires them.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  close(): void {
    this.client.destroy();
  }
}

const blobKey = (sha256: string) => `blobs/${sha256}`;
const uploadKey = (uploadId: string) => `uploads/${uploadId}`;
const hexToBase64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

/** S3's "no such key" for HEAD (a bare 404) and GET (NoSuchKey). */
const isMissing = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NotFound" || err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404;
};

/**
 * Blob bytes in an S3 bucket under `blobs/<sha256>`, their metadata in the `Blob` row (storage 's3') that grants and
 * `head` read, so a blob is visible exactly when its row exists. The object is always written first and the row last:
 * a write that fails or a transaction that rolls back leaves at most an unreferenced object under its own sha256
 * (harmless, and reused by the next write of the same bytes), never a row without bytes.
 * Streamed writes go through a multipart upload; with a known sha256 (uploads) straight to the final key, completed
 * only after the hash matched; otherwise to `pending/<uuid>`, copied to the final key once hashed.
 */
export class S3BlobStore implements BlobStore {
  readonly maxBlobBytes: number;
  readonly direct: DirectBlobAccess;

  constructor(
    private readonly db: DbOrTx,
    private readonly backend: S3Backend,
  ) {
    this.maxBlobBytes = Math.min(MAX_PARTS * backend.partBytes, MAX_COPY_BYTES);
    this.direct = {
      presignGet: (sha256, expiresSeconds, options) => this.presignGet(sha256, expiresSeconds, options),
      presignUpload: (uploadId, expected, expiresSeconds) => this.presignUpload(uploadId, expected, expiresSeconds),
      adoptUpload: (uploadId, contentType, expected) => this.adoptUpload(uploadId, contentType, expected),
    };
  }

  private get s3() {
    return this.backend.client;
  }

  private get bucket() {
    return this.backend.bucket;
  }

  async put(bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const blob = { sha256, byteSize: bytes.byteLength, contentType };
    if (!(await this.has(sha256))) {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: blobKey(sha256), Body: bytes, ContentLength: bytes.byteLength, ContentType: contentType }),
      );
      await this.insertRow(blob);
    }
    return blob;
  }

  async putStream(source: AsyncIterable<Uint8Array>, contentType: string, expected: BlobExpectation = {}): Promise<StoredBlob> {
    const partBytes = this.backend.partBytes;
    const limit = Math.min(expected.byteSize ?? Infinity, expected.maxBytes ?? Infinity, this.maxBlobBytes);
    // With the hash known in advance the parts go to the final key: completing the upload is what makes the object
    // exist, and that happens only once the bytes hashed right. Otherwise to a pending key, copied once hashed.
    const key = expected.sha256 ? blobKey(expected.sha256) : `pending/${randomUUID()}`;
    const hash = createHash("sha256");
    let received = 0;
    let current = Buffer.allocUnsafe(partBytes);
    let filled = 0;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    // One part may upload while the next one fills (two parts in memory at most); as in the Postgres store, its
    // failure is awaited below and the no-op catch only keeps Node from calling it unhandled meanwhile.
    let inFlight: Promise<void> = Promise.resolve();
    const sendPart = async (data: Buffer) => {
      await inFlight;
      uploadId ??= (await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }))).UploadId!;
      const PartNumber = parts.length + 1;
      parts.push({ PartNumber });
      const id = uploadId;
      inFlight = this.s3
        .send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: id, PartNumber, Body: data, ContentLength: data.byteLength }))
        .then((r) => void (parts[PartNumber - 1].ETag = r.ETag));
      inFlight.catch(() => {});
    };
    let completed = false;
    try {
      for await (const piece of source) {
        if (received + piece.byteLength > limit) throw new BlobCheckError("TOO_LARGE", limit, received + piece.byteLength);
        hash.update(piece);
        received += piece.byteLength;
        for (let offset = 0; offset < piece.byteLength; ) {
          const n = Math.min(piece.byteLength - offset, partBytes - filled);
          current.set(piece.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === partBytes) {
            await sendPart(current);
            current = Buffer.allocUnsafe(partBytes);
            filled = 0;
          }
        }
      }
      await inFlight;
      if (expected.byteSize !== undefined && received !== expected.byteSize) throw new BlobCheckError("TOO_SHORT", expected.byteSize, received);
      const sha256 = hash.digest("hex");
      if (expected.sha256 !== undefined && sha256 !== expected.sha256) throw new BlobCheckError("SHA256", expected.sha256, sha256);
      const blob = { sha256, byteSize: received, contentType };
      if (await this.has(sha256)) {
        await this.abort(key, uploadId);
        return blob;
      }
      if (uploadId === undefined) {
        // It all fit in one part: a plain PUT to the final key, nothing pending.
        const body = current.subarray(0, filled);
        await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: blobKey(sha256), Body: body, ContentLength: filled, ContentType: contentType }));
      } else {
        if (filled > 0) await sendPart(current.subarray(0, filled));
        await inFlight;
        await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        completed = true;
        if (key !== blobKey(sha256)) await this.moveObject(key, blobKey(sha256), contentType);
      }
      await this.insertRow(blob);
      return blob;
    } catch (e) {
      await inFlight.catch(() => {});
      // Cleanup failures are not what the caller needs to hear about: unfinished parts are invisible (the bucket's
      // lifecycle rule aborts them), and a completed pending object is never read.
      if (completed && key.startsWith("pending/")) await this.deleteObject(key).catch(() => {});
      else await this.abort(key, uploadId);
      throw e;
    }
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    const head = await this.head(sha256);
    if (!head) return null;
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: blobKey(sha256) }));
    const bytes = await out.Body!.transformToByteArray();
    if (bytes.byteLength !== head.byteSize) {
      throw new Error(`blob ${sha256}: the bucket holds ${bytes.byteLength} bytes under its key, its row says ${head.byteSize}`);
    }
    return bytes;
  }

  async openRead(sha256: string, range?: ByteRange): Promise<BlobReadStream | null> {
    const blob = await this.head(sha256);
    if (!blob) return null;
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && 0 <= range.start && range.start <= range.end && range.end < blob.byteSize)) {
      throw new RangeError(`blob ${sha256}: range ${range.start}-${range.end} is outside its ${blob.byteSize} bytes`);
    }
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: blobKey(sha256), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
    );
    // In Node the SDK's body is the HTTP response itself: a Readable, read as the consumer pulls.
    const body = out.Body as Readable;
    const length = range ? range.end - range.start + 1 : blob.byteSize;
    // Some S3-compatible servers answer a range ending at byte 0 with the whole object (s3rver reads `0` as "to the
    // end"); a body longer than what was asked for is cut to it, so the caller gets exactly the range's bytes.
    const stream = out.ContentLength !== undefined && out.ContentLength > length ? Readable.from(take(body, length), { objectMode: false }) : body;
    return { blob, range: range ?? null, stream };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.db.blob.count({ where: { sha256 } })) > 0;
  }

  async head(sha256: string): Promise<StoredBlob | null> {
    const row = await this.db.blob.findUnique({ where: { sha256 }, select: { sha256: true, byteSize: true, contentType: true, storage: true } });
    if (!row) return null;
    if (row.storage !== "s3") throw new Error(`blob ${sha256} is kept in '${row.storage}', which this S3 blob store cannot read`);
    return { sha256: row.sha256, byteSize: Number(row.byteSize), contentType: row.contentType };
  }

  private async presignGet(sha256: string, expiresSeconds: number, options: { filename?: string } = {}): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: blobKey(sha256),
      ResponseContentDisposition: options.filename ? `attachment; filename="${options.filename.replace(/["\\\r\n]/g, "_")}"` : undefined,
    });
    return getSignedUrl(this.s3, command, { expiresIn: expiresSeconds });
  }

  private async presignUpload(uploadId: string, expected: { byteSize: number; sha256: string }, expiresSeconds: number): Promise<PresignedPut> {
    const checksum = hexToBase64(expected.sha256);
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: uploadKey(uploadId), ContentLength: expected.byteSize, ChecksumSHA256: checksum });
    // The checksum stays a signed header (not a query parameter): S3 then refuses a body that hashes otherwise.
    const url = await getSignedUrl(this.s3, command, { expiresIn: expiresSeconds, unhoistableHeaders: new Set(["x-amz-checksum-sha256"]) });
    return {
      url,
      headers: [
        { name: "Content-Length", value: String(expected.byteSize) },
        { name: "x-amz-checksum-sha256", value: checksum },
      ],
    };
  }

  private async adoptUpload(uploadId: string, contentType: string, expected: { byteSize: number; sha256: string }): Promise<StoredBlob | null> {
    const staged = uploadKey(uploadId);
    let head;
    try {
      head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: staged, ChecksumMode: "ENABLED" }));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    const size = head.ContentLength ?? 0;
    try {
      if (size > expected.byteSize) throw new BlobCheckError("TOO_LARGE", expected.byteSize, size);
      if (size < expected.byteSize) throw new BlobCheckError("TOO_SHORT", expected.byteSize, size);
      // S3 checked the signed x-amz-checksum-sha256 when the bytes arrived; a store that reports no such checksum
      // (an S3-compatible server) gets the bytes hashed here instead, streamed from the bucket.
      if (head.ChecksumSHA256 !== hexToBase64(expected.sha256)) {
        const actual = await this.hashObject(staged);
        if (actual !== expected.sha256) throw new BlobCheckError("SHA256", expected.sha256, actual);
      }
    } catch (e) {
      if (e instanceof BlobCheckError) await this.deleteObject(staged).catch(() => {});
      throw e;
    }
    const blob = { sha256: expected.sha256, byteSize: size, contentType };
    if (!(await this.has(blob.sha256))) {
      await this.moveObject(staged, blobKey(blob.sha256), contentType);
      await this.insertRow(blob);
    } else {
      await this.deleteObject(staged);
    }
    return blob;
  }

  private async hashObject(key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const hash = createHash("sha256");
    for await (const piece of out.Body as Readable) hash.update(piece as Buffer);
    return hash.digest("hex");
  }

  /** Server-side copy (the bytes stay in S3), then the source goes. */
  private async moveObject(from: string, to: string, contentType: string): Promise<void> {
    await this.s3.send(
      new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${from}`, ContentType: contentType, MetadataDirective: "REPLACE" }),
    );
    await this.deleteObject(from);
  }

  private async deleteObject(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Drops the parts of an unfinished multipart write; where the server cannot (s3rver), they stay invisible. */
  private async abort(key: string, uploadId: string | undefined): Promise<void> {
    if (uploadId === undefined) return;
    await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => {});
  }

  private async insertRow(blob: StoredBlob): Promise<void> {
    // ON CONFLICT DO NOTHING: concurrent writes of the same bytes both land on the one row.
    await this.db.blob.createMany({
      data: [{ sha256: blob.sha256, byteSize: BigInt(blob.byteSize), contentType: blob.contentType, storage: "s3" }],
      skipDuplicates: true,
    });
  }
}

/** The first `length` bytes of a stream; the rest is not read (the source is destroyed when the generator returns). */
async function* take(source: Readable, length: number): AsyncGenerator<Uint8Array> {
  let left = length;
  for await (const piece of source as AsyncIterable<Buffer>) {
    if (left <= 0) break;
    const part = piece.byteLength > left ? piece.subarray(0, left) : piece;
    left -= part.byteLength;
    yield part;
    if (left === 0) break;
  }
}
