import { AppError } from "../errors.js";
import type { Store } from "../store/store.js";
import { requireRole, type Caller } from "./context.js";
import type { StoredBlob } from "./ports.js";

const SHA256 = /^[0-9a-f]{64}$/;

/** Downloads of content-addressed blobs, for callers whose group was granted them. */
export class BlobService {
  constructor(private readonly store: Store) {}

  /** The blob if the caller's group may read it; NOT_FOUND otherwise (a blob of another group does not exist). */
  async download(caller: Caller, sha256: string): Promise<StoredBlob & { bytes: Uint8Array }> {
    const ctx = requireRole(caller, "READER");
    if (!SHA256.test(sha256)) {
      throw new AppError("BAD_USER_INPUT", `sha256: expected 64 lower-case hex characters, got '${sha256.slice(0, 80)}'`);
    }
    const granted = await this.store.groups.canReadBlob(ctx.groupId, sha256);
    const head = granted ? await this.store.blobs.head(sha256) : null;
    const bytes = head ? await this.store.blobs.get(sha256) : null;
    if (!head || !bytes) throw new AppError("NOT_FOUND", `no blob ${sha256} is visible to this group`);
    return { ...head, bytes };
  }

  /** Stores bytes and grants them to a group (for services that create blobs on a group's behalf). */
  async putForGroup(groupId: string, bytes: Uint8Array, contentType: string): Promise<StoredBlob> {
    const stored = await this.store.blobs.put(bytes, contentType);
    await this.store.groups.grantBlob(groupId, stored.sha256);
    return stored;
  }
}
