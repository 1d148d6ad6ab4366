import type { Store } from "../store/store.js";

export class HealthService {
  constructor(
    private readonly store: Store,
    private readonly version: string,
  ) {}

  async check() {
    const database = await this.store.ping();
    return { ok: database, database, version: this.version };
  }
}
