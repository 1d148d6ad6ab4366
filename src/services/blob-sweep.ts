// The blob sweep (issue 13 item 8): bytes no row references any more (a deleted model's file, an upload never used)
// and pending uploads past their expiry. Run by the server at most hourly (app.ts) and by tests directly.
import type { Logger } from "../logger.js";
import type { Store } from "../store/store.js";

export interface SweepResult {
  blobsDeleted: number;
  bytesFreed: number;
  uploadsDeleted: number;
}

/** A blob is written a moment before the row that references it commits; younger blobs are left to the next sweep. */
export const SWEEP_GRACE_MS = 60 * 60_000;
export const SWEEP_EVERY_MS = 60 * 60_000;

export class BlobSweepService {
  constructor(private readonly store: Store) {}

  /**
   * Deletes expired uploads first (their bytes then count as unreferenced), then every unreferenced blob older than
   * `graceMs`. Safe to run from several processes at once: each DELETE takes the rows it removes.
   */
  async sweep(options: { now?: Date; graceMs?: number } = {}): Promise<SweepResult> {
    const now = options.now ?? new Date();
    const uploadsDeleted = await this.store.archive.sweepExpiredUploads(now);
    const removed = await this.store.archive.sweepBlobs(new Date(now.getTime() - (options.graceMs ?? SWEEP_GRACE_MS)));
    return { blobsDeleted: removed.length, bytesFreed: removed.reduce((s, b) => s + b.byteSize, 0), uploadsDeleted };
  }

  /** Runs `sweep` every `everyMs` (unref'd: it never keeps the process alive); returns the stop function. */
  schedule(log: Logger, everyMs = SWEEP_EVERY_MS): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.sweep()
        .then((r) => {
          if (r.blobsDeleted || r.uploadsDeleted) log.info(r, "blob sweep");
        })
        .catch((e: unknown) => log.warn({ err: e }, "blob sweep failed; retried at the next run"))
        .finally(() => {
          running = false;
        });
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
