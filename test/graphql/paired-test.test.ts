// pairedDifferenceTest through the API: the statistic the demo's findings rest on, run in the statistics processes,
// equal to the engine's on the same input, and its inputs refused with clear messages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pairedSignFlipTest } from "../../src/engine/stats/paired.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

const QUERY = `query($d: [Float!]!, $p: Int, $r: Int, $s: Int) {
  pairedDifferenceTest(differences: $d, permutations: $p, resamples: $r, seed: $s) { n meanDifference p permutations exact low high level resamples seed } }`;

let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("lab-paired", "READER"));
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe("pairedDifferenceTest", () => {
  it("gives the engine's sign-flip p and bootstrap CI: exact for a few units (scipy's 44/1024), drawn for many", async () => {
    const d = [0.2, -0.1, 0.4, 0.3, 0.0, 0.5, -0.2, 0.6, 0.1, 0.35];
    const small = await t.gql(QUERY, { d, p: 10_000, r: 500, s: 4 }, key);
    expect(small.errors).toBeUndefined();
    const ref = pairedSignFlipTest(d, { permutations: 10_000, resamples: 500, seed: 4 });
    expect(small.data.pairedDifferenceTest).toEqual({
      n: 10, meanDifference: ref.meanDifference, p: 0.04296875, permutations: 1024, exact: true,
      low: ref.ci.low, high: ref.ci.high, level: 0.95, resamples: 500, seed: 4,
    });
    const many = Array.from({ length: 60 }, (_, i) => ((i * 37) % 11) / 10 - 0.3);
    const drawn = await t.gql(QUERY, { d: many, p: 2000, s: 1 }, key);
    expect(drawn.errors).toBeUndefined();
    const refMany = pairedSignFlipTest(many, { permutations: 2000, seed: 1 });
    expect(drawn.data.pairedDifferenceTest).toMatchObject({ n: 60, exact: false, permutations: 2000, p: refMany.p, low: refMany.ci.low });
  });

  it("refuses an empty list, a list over 100,000, counts out of bounds and callers without a key", async () => {
    const empty = await t.gql(QUERY, { d: [] }, key);
    expect(empty.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(empty.errors?.[0]?.message).toBe("differences (its length): expected an integer from 1 to 100000 (paired differences of one pairedDifferenceTest), got 0");
    const huge = await t.gql(QUERY, { d: new Array(100_001).fill(0.5), p: 1, r: 2 }, key);
    expect(huge.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(huge.errors?.[0]?.message).toContain("got 100001");
    const perms = await t.gql(QUERY, { d: [1, 2], p: 1_000_000 }, key);
    expect(perms.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(perms.errors?.[0]?.message).toContain("permutations: expected an integer from 1 to 100000");
    const anonymous = await t.gql(QUERY, { d: [1, 2] });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("costs its work: the heaviest allowed request is refused by the query cost limit before it runs", async () => {
    // 100,000 differences x (100,000 + 10,000) draws: 44,000 cost units, over the default 10,000.
    const res = await t.gql(QUERY, { d: new Array(100_000).fill(0.5), p: 100_000, r: 10_000 }, key);
    expect(res.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.status).toBe(400);
  });
});
