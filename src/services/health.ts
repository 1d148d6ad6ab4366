import type { Store } from "../store/store.js";

/**
 * How old a database answer `health` may repeat. Health is polled by load balancers and dashboards, often by many
 * at once; one ping per interval answers all of them, so health costs no database round trip per request and stays
 * fast while the server is busy (issue 10's load test: 100 connections polling health).
 */
export const HEALTH_PING_MAX_AGE_MS = 1000;

export class HealthService {
  private last: { at: number; database: boolean } | null = null;
  private inFlight: Promise<boolean> | null = null;

  constructor(
    private readonly store: Store,
    private readonly version: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `database` is the answer of a ping at most HEALTH_PING_MAX_AGE_MS old; concurrent callers share one ping. */
  async check() {
    const database = await this.database();
    return { ok: database, database, version: this.version };
  }

  private async database(): Promise<boolean> {
    if (this.last && this.now() - this.last.at < HEALTH_PING_MAX_AGE_MS) return this.last.database;
    this.inFlight ??= this.store
      .ping()
      .then((database) => {
        this.last = { at: this.now(), database };
        return database;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
