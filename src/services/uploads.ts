import type { Limits } from "../config.js";
import { AppError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { UploadRecord } from "../store/uploads.js";
import { requireRole, type Caller } from "./authorization.js";
import { BlobCheckError } from "./ports.js";

export type UploadPurpose = "MODEL" | "STIMULUS";

export interface UploadTicket {
  id: string;
  /** PUT the bytes here, with `headers`. */
  url: string;
  headers: { name: string; value: string }[];
  expiresAt: Date;
}

const SHA256 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Two-step uploads for files too large to send inline: createUpload declares size and sha256, the client PUTs the
 * bytes to /uploads/<id> (streamed, checked against the declared size while arriving), then passes the uploadId.
 */
export class UploadService {
  constructor(
    private readonly store: Store,
    private readonly limits: Limits,
    private readonly ttlSeconds: number,
    private readonly baseUrl: () => string,
  ) {}

  /** The configured limit for the purpose, capped by what the blob store can hold in one piece. */
  limitFor(purpose: UploadPurpose): number {
    const configured = purpose === "MODEL" ? this.limits.maxModelBytes : this.limits.maxStimulusBytes;
    return Math.min(configured, this.store.blobs.maxBlobBytes);
  }

  async create(caller: Caller, input: { purpose: UploadPurpose; byteSize: number; sha256: string }): Promise<UploadTicket> {
    const ctx = requireRole(caller, "MEMBER");
    const limit = this.limitFor(input.purpose);
    if (!Number.isSafeInteger(input.byteSize) || input.byteSize <= 0) {
      throw new AppError("BAD_USER_INPUT", `byteSize: expected a positive whole number of bytes, got ${input.byteSize}`);
    }
    if (input.byteSize > limit) {
      throw new AppError(
        "PAYLOAD_TOO_LARGE",
        `byteSize: a ${input.purpose.toLowerCase()} file may be at most ${limit} bytes, got ${input.byteSize}`,
        { limit },
      );
    }
    const sha256 = input.sha256.toLowerCase();
    if (!SHA256.test(sha256)) {
      throw new AppError("BAD_USER_INPUT", `sha256: expected 64 hex characters, got '${input.sha256.slice(0, 80)}'`);
    }
    const upload = await this.store.uploads.create({
      groupId: ctx.groupId,
      purpose: input.purpose,
      byteSize: input.byteSize,
      sha256,
      expiresAt: new Date(Date.now() + this.ttlSeconds * 1000),
    });
    const direct = this.store.blobs.direct;
    if (direct) {
      // Cloud mode: the bytes go straight to the bucket (never through the API); the client then completes the upload
      // (POST /uploads/<id>/complete, or simply passes uploadId to the mutation), which checks them.
      const put = await direct.presignUpload(upload.id, { byteSize: input.byteSize, sha256 }, this.ttlSeconds);
      return { id: upload.id, url: put.url, headers: put.headers, expiresAt: upload.expiresAt };
    }
    return {
      id: upload.id,
      url: `${this.baseUrl()}/uploads/${upload.id}`,
      headers: [
        { name: "Authorization", value: "Bearer <your API key>" },
        { name: "Content-Type", value: "application/octet-stream" },
        { name: "Content-Length", value: String(input.byteSize) },
      ],
      expiresAt: upload.expiresAt,
    };
  }

  /**
   * Receives the bytes of a PENDING upload from a stream straight into the blob store, hashed and counted as they
   * arrive (never more than a chunk or two in memory). More bytes than declared are refused as soon as they arrive,
   * fewer or a different sha256 once the body ends; a refused upload stores nothing and stays PENDING for a retry.
   * `contentLength` (the request's header, when sent) lets a size mismatch be refused before any byte is read.
   */
  async receive(
    caller: Caller,
    uploadId: string,
    body: AsyncIterable<Uint8Array>,
    contentLength?: number,
  ): Promise<{ sha256: string; byteSize: number }> {
    const ctx = requireRole(caller, "MEMBER");
    const upload = await this.findOwn(ctx.groupId, uploadId);
    if (upload.status !== "PENDING") {
      throw new AppError("CONFLICT", `upload ${uploadId} already received its bytes (status ${upload.status})`);
    }
    if (upload.expiresAt.getTime() < Date.now()) {
      throw new AppError("NOT_FOUND", `upload ${uploadId} expired at ${upload.expiresAt.toISOString()}; create a new one`);
    }
    if (contentLength !== undefined && contentLength > upload.byteSize) throw tooMany(upload, `Content-Length is ${contentLength}`);
    if (contentLength !== undefined && contentLength < upload.byteSize) throw tooFew(upload, contentLength, "Content-Length is");
    const stored = await checked(upload, "received", () =>
      this.store.blobs.putStream(body, "application/octet-stream", { byteSize: upload.byteSize, sha256: upload.sha256 }),
    );
    await this.markComplete(upload, stored.sha256);
    return { sha256: stored.sha256, byteSize: stored.byteSize };
  }

  /**
   * Cloud mode (a store clients PUT to directly): checks what the client PUT to the presigned URL (size, sha256) and
   * makes it a blob of the group. A refused object is removed and the upload stays PENDING for another PUT. Completing
   * a completed upload again answers the same; a store without direct uploads has nothing to complete.
   */
  async complete(caller: Caller, uploadId: string): Promise<{ sha256: string; byteSize: number }> {
    const ctx = requireRole(caller, "MEMBER");
    const upload = await this.findOwn(ctx.groupId, uploadId);
    if (upload.status !== "PENDING") return { sha256: upload.blobSha256!, byteSize: upload.byteSize };
    return this.completeDirect(upload);
  }

  private async completeDirect(upload: UploadRecord): Promise<{ sha256: string; byteSize: number }> {
    const direct = this.store.blobs.direct;
    if (!direct) {
      throw new AppError("BAD_USER_INPUT", `upload ${upload.id}: this server takes the bytes itself; PUT them to /uploads/${upload.id}`);
    }
    if (upload.expiresAt.getTime() < Date.now()) {
      throw new AppError("NOT_FOUND", `upload ${upload.id} expired at ${upload.expiresAt.toISOString()}; create a new one`);
    }
    const stored = await checked(upload, "the bucket holds", () =>
      direct.adoptUpload(upload.id, "application/octet-stream", { byteSize: upload.byteSize, sha256: upload.sha256 }),
    );
    if (!stored) {
      throw new AppError("BAD_USER_INPUT", `upload ${upload.id} has no bytes yet; PUT them to the URL createUpload returned, then complete it`);
    }
    await this.markComplete(upload, stored.sha256);
    return { sha256: stored.sha256, byteSize: stored.byteSize };
  }

  private async markComplete(upload: UploadRecord, sha256: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.groups.grantBlob(upload.groupId, sha256);
      // Two PUTs (or completions) of one upload at once both store the identical, checked bytes; only one completes it.
      if (!(await tx.uploads.markComplete(upload.id, sha256))) {
        throw new AppError("CONFLICT", `upload ${upload.id} received its bytes from another request meanwhile`);
      }
    });
  }

  /**
   * The bytes of a COMPLETE upload for a mutation (checked for purpose). Marking it consumed is left to the caller's
   * transaction (`store.uploads.markConsumed`), so a failed registration leaves the upload usable.
   */
  async bytesFor(groupId: string, uploadId: string, purpose: UploadPurpose): Promise<{ upload: UploadRecord; bytes: Uint8Array }> {
    const upload = await this.findOwn(groupId, uploadId);
    if (upload.purpose !== purpose) {
      throw new AppError("BAD_USER_INPUT", `uploadId: upload ${uploadId} was created for ${upload.purpose}, not ${purpose}`);
    }
    if (upload.status === "PENDING" && this.store.blobs.direct) {
      // Cloud mode: passing uploadId after the PUT to the bucket completes the upload (no separate call needed).
      const { sha256 } = await this.completeDirect(upload);
      upload.status = "COMPLETE";
      upload.blobSha256 = sha256;
    }
    if (upload.status === "PENDING") {
      throw new AppError("BAD_USER_INPUT", `uploadId: upload ${uploadId} has no bytes yet; PUT them to /uploads/${uploadId} first`);
    }
    if (upload.status === "CONSUMED") {
      throw new AppError("CONFLICT", `uploadId: upload ${uploadId} was already used`);
    }
    const bytes = await this.store.blobs.get(upload.blobSha256!);
    if (!bytes) throw new AppError("NOT_FOUND", `uploadId: the bytes of upload ${uploadId} are gone`);
    return { upload, bytes };
  }

  private async findOwn(groupId: string, uploadId: string): Promise<UploadRecord> {
    const upload = UUID.test(uploadId) ? await this.store.uploads.find(groupId, uploadId) : null;
    if (!upload) throw new AppError("NOT_FOUND", `uploadId: no upload '${uploadId}' in this group`);
    return upload;
  }
}

/** Runs a checked write of an upload's bytes, turning a refusal into the API's error (nothing was stored). */
async function checked<T>(upload: UploadRecord, arrived: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!(e instanceof BlobCheckError)) throw e;
    if (e.reason === "TOO_LARGE") throw tooMany(upload, `${arrived} more than that (at least ${e.actual})`);
    if (e.reason === "TOO_SHORT") throw tooFew(upload, e.actual, arrived);
    throw new AppError("BAD_USER_INPUT", `upload ${upload.id}: declared sha256 ${upload.sha256}, the bytes hash to ${e.actual}; nothing was stored`);
  }
}

const tooMany = (upload: UploadRecord, what: string) =>
  new AppError("PAYLOAD_TOO_LARGE", `upload ${upload.id}: declared ${upload.byteSize} bytes, ${what}; nothing was stored`, {
    limit: upload.byteSize,
  });

const tooFew = (upload: UploadRecord, got: string | number, what: string) =>
  new AppError("BAD_USER_INPUT", `upload ${upload.id}: declared ${upload.byteSize} bytes, ${what} ${got}; nothing was stored`);
