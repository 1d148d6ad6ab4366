// The two per-request database reads that issue 10's load test removed from the hot path: health's ping (one per
// interval, shared by concurrent callers) and the API-key lookup (cached briefly, forgotten on revoke). Real store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyCache, API_KEY_CACHE_MS } from "../../src/services/api-key-cache.js";
import { AuthService, hashApiKey } from "../../src/services/auth.js";
import { HealthService, HEALTH_PING_MAX_AGE_MS } from "../../src/services/health.js";
import type { Caller } from "../../src/services/authorization.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("health", () => {
  it("answers many concurrent callers with one ping, and pings again once the answer is older than the limit", async () => {
    let clock = 0;
    let pings = 0;
    const store = db.store;
    const counting = new Proxy(store, {
      get: (target, prop, receiver) =>
        prop === "ping"
          ? () => {
              pings++;
              return target.ping();
            }
          : Reflect.get(target, prop, receiver),
    });
    const health = new HealthService(counting, "1.2.3", () => clock);
    const answers = await Promise.all(Array.from({ length: 50 }, () => health.check()));
    expect(answers.every((a) => a.ok && a.database)).toBe(true);
    expect(pings).toBe(1);
    clock += HEALTH_PING_MAX_AGE_MS - 1;
    await health.check();
    expect(pings).toBe(1);
    clock += 2;
    await health.check();
    expect(pings).toBe(2);
  });

  it("reports a database that stops answering at the next ping", async () => {
    let clock = 0;
    let up = true;
    const flaky = new Proxy(db.store, {
      get: (target, prop, receiver) => (prop === "ping" ? async () => up && (await target.ping()) : Reflect.get(target, prop, receiver)),
    });
    const health = new HealthService(flaky, "1.2.3", () => clock);
    expect((await health.check()).database).toBe(true);
    up = false;
    clock += HEALTH_PING_MAX_AGE_MS;
    expect(await health.check()).toMatchObject({ ok: false, database: false });
  });
});

describe("API-key lookups", () => {
  it("reads a key once per interval, shares concurrent reads, and keeps no entry for unknown keys", async () => {
    let clock = 0;
    const reads: string[] = [];
    const cache = new ApiKeyCache(
      (hash) => {
        reads.push(hash);
        return db.store.groups.findApiKeyByHash(hash);
      },
      () => clock,
    );
    const auth = new AuthService(db.store);
    const issued = await auth.createGroupWithKey("cache-lab", "ADMIN");
    const hash = hashApiKey(issued.key);
    const records = await Promise.all(Array.from({ length: 20 }, () => cache.find(hash)));
    expect(records.every((r) => r?.id === issued.id)).toBe(true);
    expect(reads.length).toBe(1);
    clock += API_KEY_CACHE_MS - 1;
    await cache.find(hash);
    expect(reads.length).toBe(1);
    clock += 2;
    await cache.find(hash);
    expect(reads.length).toBe(2);
    // Unknown keys are read every time: a stranger guessing keys cannot fill the cache or be answered from it.
    await cache.find("0".repeat(64));
    await cache.find("0".repeat(64));
    expect(reads.length).toBe(4);
  });

  it("refuses a key at once after it is revoked through the same service", async () => {
    const auth = new AuthService(db.store);
    const admin = await auth.createGroupWithKey("revoke-lab", "ADMIN");
    const adminCaller = (await auth.authenticate(`Bearer ${admin.key}`)) as Caller;
    const reader = await auth.createApiKey(adminCaller, "script", "READER");
    expect(await auth.authenticate(`Bearer ${reader.key}`)).toMatchObject({ role: "READER" });
    await auth.revokeApiKey(adminCaller, reader.id);
    expect(await auth.authenticate(`Bearer ${reader.key}`)).toMatchObject({ anonymous: true, reason: expect.stringMatching(/revoked/) });
  });
});
