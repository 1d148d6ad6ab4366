import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../../src/config.js";
import { COUNT_LIMITS } from "../../src/services/limits.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 2: ten humanVsModel(permutations: 100000) held `health` for 8.4 s, because the permutation test ran
// on the event loop. Statistics now run in the stats threads: while several of the largest allowed ones run (more
// than the threads, so some wait in the queue), health keeps answering. Shown by order of events, not by timings:
// health requests are sent one after another from the moment the statistics are sent, and must complete many
// times before the first statistic does.
describe("statistics at their maximum do not hold other requests", () => {
  let t: TestApp;
  let key: string;
  let model: string;

  beforeAll(async () => {
    // The rate limit is off here: the health loop below would otherwise empty the anonymous bucket (rate-limit.test.ts).
    t = await startTestApp({ config: { api: { ...defaultConfig().api, rateLimitPerSecond: 0 } } });
    ({ key } = await t.createGroupWithKey("lab-stats", "MEMBER"));
    expect((await t.gql(`mutation { importFeather2023 { models } }`, {}, key)).errors).toBeUndefined();
    const models = await t.gql(`{ models(first: 100, filter: { name: "cochresnet50" }) { edges { node { id } } } }`, {}, key);
    model = models.data.models.edges[0].node.id;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  it("health answers many times while two max-permutation tests and a max-resample bootstrap run (more tasks than threads)", async () => {
    const permutations = COUNT_LIMITS.permutations.max;
    const resamples = COUNT_LIMITS.resamples.max;
    const events: string[] = [];
    let statsDone = 0;
    const started = performance.now();
    const stats = [
      ...Array.from({ length: 2 }, (_, i) =>
        t.gql(`query($m: ID!, $p: Int!, $s: Int!) { humanVsModel(modelId: $m, permutations: $p, seed: $s) { permutations factor { p } } }`, { m: model, p: permutations, s: i }, key),
      ),
      ...Array.from({ length: 1 }, (_, i) =>
        t.gql(`query($r: Int!, $s: Int!) { idiosyncrasy(modality: VISION, resamples: $r, seed: $s) { n ci95 { low high } } }`, { r: resamples, s: i }, key),
      ),
    ].map((p, i) =>
      p.then((res) => {
        statsDone++;
        events.push(`stats${i}`);
        return res;
      }),
    );
    let healthBeforeFirstStat = 0;
    let busySeen = 0;
    while (statsDone === 0) {
      const res = await t.gql(`{ health { ok } }`);
      expect(res.data?.health?.ok, JSON.stringify(res.errors)).toBe(true);
      if (statsDone > 0) break;
      healthBeforeFirstStat++;
      if (t.services.statsPool.state.running > 0) busySeen++;
      events.push("health");
    }
    const results = await Promise.all(stats);
    const elapsed = performance.now() - started;
    for (const r of results) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    expect(results[0].data.humanVsModel.permutations).toBe(permutations);
    console.log(`statistics: 3 requests in ${Math.round(elapsed)} ms; health answered ${healthBeforeFirstStat} times before the first one finished (threads busy at ${busySeen} of them)`);
    expect(healthBeforeFirstStat).toBeGreaterThanOrEqual(10);
    // Those answers came while statistics were computing in the threads, not before they started.
    expect(busySeen).toBeGreaterThanOrEqual(5);
  });
});
