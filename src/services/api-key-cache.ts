import type { ApiKeyRecord } from "../store/groups.js";

/**
 * How long a key's row, once read, answers for it. Every API request authenticates; without this each one costs a
 * database round trip before any work, which under load (issue 10: 100 connections) was most of a cheap request's
 * cost. The price: a key revoked through another process (another server, a Lambda instance) still works there for
 * up to this long; a revocation through this process takes effect at once (`forget`).
 */
export const API_KEY_CACHE_MS = 5000;
/** Entries kept at most (least recently read go first); only keys that exist are kept, so guessing cannot fill it. */
export const API_KEY_CACHE_ENTRIES = 10_000;

interface Entry {
  record: ApiKeyRecord;
  at: number;
}

/** Reads API-key rows by hash through a small time-bounded cache; concurrent reads of one hash share one query. */
export class ApiKeyCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<ApiKeyRecord | null>>();

  constructor(
    private readonly lookup: (hash: string) => Promise<ApiKeyRecord | null>,
    private readonly now: () => number = () => performance.now(),
    private readonly ttlMs = API_KEY_CACHE_MS,
    private readonly maxEntries = API_KEY_CACHE_ENTRIES,
  ) {}

  async find(hash: string): Promise<ApiKeyRecord | null> {
    const cached = this.byHash.get(hash);
    if (cached && this.now() - cached.at < this.ttlMs) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.byHash.delete(hash);
      this.byHash.set(hash, cached);
      return cached.record;
    }
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.lookup(hash)
        .then((record) => {
          if (record) this.remember(hash, record);
          else this.byHash.delete(hash);
          return record;
        })
        .finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }

  /** Drops a key (after revoking it here), so its next use reads the database. */
  forget(keyId: string): void {
    for (const [hash, entry] of this.byHash) if (entry.record.id === keyId) this.byHash.delete(hash);
  }

  private remember(hash: string, record: ApiKeyRecord): void {
    this.byHash.delete(hash);
    this.byHash.set(hash, { record, at: this.now() });
    while (this.byHash.size > this.maxEntries) this.byHash.delete(this.byHash.keys().next().value!);
  }
}
