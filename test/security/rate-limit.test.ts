import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/config.js";
import { REFUSED_QUERY_TOKENS } from "../../src/server/http.js";
import { RateLimiter } from "../../src/server/rate-limit.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 2: a per-caller rate limit (token bucket per API key, per client address without a key).
describe("rate limit per API key and per anonymous client", () => {
  let t: TestApp;
  const burst = 5;

  beforeAll(async () => {
    // A bucket that practically does not refill during the test (1 token per 100 s), so the counts are exact.
    t = await startTestApp({ config: { api: { ...defaultConfig().api, rateLimitPerSecond: 0.01, rateLimitBurst: burst } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a key gets `burst` requests, then 429 with Retry-After and RATE_LIMITED; another key is not affected", async () => {
    const a = await t.createGroupWithKey("lab-a", "READER");
    const b = await t.createGroupWithKey("lab-b", "READER");
    for (let i = 0; i < burst; i++) expect((await t.gql(`{ me { role } }`, {}, a.key)).errors).toBeUndefined();
    const res = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${a.key}` },
      body: JSON.stringify({ query: "{ me { role } }" }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(body.errors[0].message).toMatch(/^rate limit: at most 0\.01 requests per second \(bursts of 5\) per API key; retry in \d+ s$/);
    expect((await t.gql(`{ me { role } }`, {}, b.key)).errors).toBeUndefined();
  });

  it("callers without a key share their address's bucket, whatever token they send", async () => {
    let ok = 0;
    let limited = 0;
    for (let i = 0; i < burst + 3; i++) {
      const res = await t.gql(`{ health { ok } }`, {}, i % 2 ? `bogus-${i}` : undefined);
      if (res.status === 429) {
        expect(res.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
        limited++;
      } else ok++;
    }
    expect(ok).toBe(burst);
    expect(limited).toBe(3);
  });

  it(`a query refused as invalid costs ${REFUSED_QUERY_TOKENS} tokens, a valid one 1`, async () => {
    const refusedFirst = await t.createGroupWithKey("lab-refused", "READER");
    const over = await t.gql(`{ ${Array.from({ length: 300 }, (_, i) => `a${i}: health { ok }`).join(" ")} }`, {}, refusedFirst.key);
    expect(over.status).toBe(400);
    // burst (5) - 10 < 0: the next request waits, however valid.
    const next = await t.gql(`{ me { role } }`, {}, refusedFirst.key);
    expect(next.status).toBe(429);
    const validOnly = await t.createGroupWithKey("lab-valid", "READER");
    for (let i = 0; i < burst; i++) expect((await t.gql(`{ me { role } }`, {}, validOnly.key)).status).toBe(200);
  });

  it("charge takes tokens after the fact, down to minus the burst (RateLimiter with a manual clock)", () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 4, now: () => now });
    expect(limiter.take("k")).toBe(0);
    limiter.charge("k", 100);
    expect(limiter.take("k")).toBeCloseTo(5, 9); // from -4 to 1 token at 1 per second
    now += 5000;
    expect(limiter.take("k")).toBe(0);
  });

  it("the bucket refills at its rate (RateLimiter with a manual clock)", () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take("k"))).toEqual([0, 0, 0]);
    expect(limiter.take("k")).toBeCloseTo(0.5, 9);
    now += 500;
    expect(limiter.take("k")).toBe(0);
    expect(limiter.take("k")).toBeGreaterThan(0);
    now += 10_000;
    expect([1, 2, 3].map(() => limiter.take("k"))).toEqual([0, 0, 0]);
    expect(new RateLimiter({ perSecond: 0, burst: 1 }).take("k")).toBe(0);
  });

  it("keeps at most maxBuckets callers (least recently used dropped)", () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: () => 0, maxBuckets: 2 });
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("b")).toBe(0);
    expect(limiter.take("c")).toBe(0); // drops a
    expect(limiter.take("b")).toBeGreaterThan(0);
    expect(limiter.take("a")).toBe(0); // a starts over with a full bucket
  });
});
