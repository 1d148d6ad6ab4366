import type { Readable } from "node:stream";
import { AppError } from "../errors.js";
import type { Store } from "../store/store.js";
import { requireReader, type Caller } from "./authorization.js";
import type { ByteRange, StoredBlob } from "./ports.js";

const SHA256 = /^[0-9a-f]{64}$/;

/** Downloads of content-addressed blobs, for callers whose group was granted them. */
export class BlobService {
  constructor(
    private readonly store: Store,
    /** Lifetime of the presigned URLs downloads are redirected to, where the store has them (S3). */
    private readonly presignSeconds = 300,
  ) {}

  /**
   * A blob the caller's group may read: its metadata and a way to stream all of it or one range. NOT_FOUND otherwise
   * (a blob of another group does not exist). The caller checks a range against `blob.byteSize` before opening it.
   * `presigned`, where the store has it (S3), is a short-lived URL of the bytes themselves: the HTTP edge redirects
   * there instead of streaming, so large files never pass through the API (or a Lambda).
   */
  async download(
    caller: Caller,
    sha256: string,
  ): Promise<{ blob: StoredBlob; open(range?: ByteRange): Promise<Readable>; presigned?: () => Promise<string> }> {
    const viewer = requireReader(caller);
    if (!SHA256.test(sha256)) {
      throw new AppError("BAD_USER_INPUT", `sha256: expected 64 lower-case hex characters, got '${sha256.slice(0, 80)}'`);
    }
    // Granted to the caller's group, or the file of an object shared with the caller (src/store/visibility.ts).
    const granted = await this.store.visibility.canReadBlob(viewer, sha256);
    const blob = granted ? await this.store.blobs.head(sha256) : null;
    if (!blob) throw notFound(sha256);
    const direct = this.store.blobs.direct;
    return {
      blob,
      presigned: direct ? () => direct.presignGet(sha256, this.presignSeconds) : undefined,
      open: async (range) => {
        const read = await this.store.blobs.openRead(sha256, range);
        if (!read) throw notFound(sha256);
        return read.stream;
      },
    };
  }

  /** Stores bytes and grants them to a group (for services that create blobs on a group's behalf). */
  async putForGroup(groupId: string, bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    const stored = await this.store.blobs.put(bytes, contentType);
    await this.store.groups.grantBlob(groupId, stored.sha256);
    return stored;
  }
}

const notFound = (sha256: string) => new AppError("NOT_FOUND", `no blob ${sha256} is visible to this group`);
