import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 2: one request must not ask for unbounded work through aliases, depth, tokens or many statistics at
// once. Each limit is refused before execution (HTTP 400) with a message that says which limit and by how much.
describe("query cost, aliases, depth and tokens are limited", () => {
  let t: TestApp;
  let key: string;
  const limits = { maxQueryCost: 10_000, maxQueryDepth: 10, maxAliases: 256, maxQueryTokens: 10_000 };

  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("lab-cost", "READER"));
  });
  afterAll(async () => {
    await t?.close();
  });

  const zeroId = "00000000-0000-4000-8000-000000000000";

  it("ten aliased humanVsModel(permutations: 100000) cost more than the maximum and nothing runs", async () => {
    const fields = Array.from({ length: 10 }, (_, i) => `h${i}: humanVsModel(modelId: "${zeroId}", permutations: 100000) { permutations }`).join("\n");
    const res = await t.gql(`{ ${fields} }`, {}, key);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.errors![0].message).toMatch(/^query: costs \d+, more than the maximum of 10000 per request/);
    expect(res.errors![0].extensions!.cost).toBeGreaterThan(limits.maxQueryCost);
    expect(t.services.statsPool.state.running + t.services.statsPool.state.queued).toBe(0);
  });

  it("the same query text is priced again for other variables (costs are remembered per document and variables)", async () => {
    const q = `query($n: Int!) { stimulusSets(first: $n) { edges { node { stimuli(first: $n) { edges { node { id } } } } } } }`;
    for (let i = 0; i < 2; i++) expect((await t.gql(q, { n: 10 }, key)).errors).toBeUndefined();
    const over = await t.gql(q, { n: 500 }, key);
    expect(over.status).toBe(400);
    expect(over.errors![0].message).toMatch(/^query: costs \d{6,}/);
    const negative = await t.gql(q, { n: -5 }, key);
    expect(negative.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await t.gql(q, { n: 10 }, key)).errors).toBeUndefined();
  });

  it("a list page is priced by its size times its selection", async () => {
    // 500 models x 500-item pages of their... stimuli would be far more; here: 500 sets x 500 stimuli.
    const res = await t.gql(`{ stimulusSets(first: 500) { edges { node { stimuli(first: 500) { edges { node { id } } } } } } }`, {}, key);
    expect(res.status).toBe(400);
    expect(res.errors![0].message).toMatch(/^query: costs \d{6,}/);
    // The same shape with small pages is cheap and runs.
    const ok = await t.gql(`{ stimulusSets(first: 10) { edges { node { stimuli(first: 10) { edges { node { id } } } } } } }`, {}, key);
    expect(ok.errors).toBeUndefined();
  });

  it(`more than ${limits.maxAliases} aliases are refused; ${limits.maxAliases} are fine`, async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: health { ok }`).join(" ")} }`;
    const over = await t.gql(aliased(limits.maxAliases + 1), {}, key);
    expect(over.status).toBe(400);
    expect(over.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(over.errors![0].message).toBe(`query: at most ${limits.maxAliases} aliased fields are allowed, got more than ${limits.maxAliases}`);
    const fine = await t.gql(aliased(limits.maxAliases), {}, key);
    expect(fine.errors).toBeUndefined();
  });

  it("queries deeper than the maximum depth are refused (the schema has no cycles, so shown with a lower limit)", async () => {
    const shallow = await startTestApp({ config: { api: { ...t.app.config.api, maxQueryDepth: 3 } } });
    try {
      const { key: k } = await shallow.createGroupWithKey("lab-depth", "READER");
      const deep = `{ stimulusSet(id: "${zeroId}") { stimuli { edges { node { tensors { shape } } } } } }`;
      const res = await shallow.gql(deep, {}, k);
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(res.errors![0].message).toContain("exceeds maximum operation depth of 3");
      expect((await shallow.gql(`{ stimulusSet(id: "${zeroId}") { stimuli { totalCount } } }`, {}, k)).errors).toBeUndefined();
      // The default limit admits the deepest path the schema has.
      expect((await t.gql(deep, {}, key)).errors).toBeUndefined();
    } finally {
      await shallow.close();
    }
  });

  it("more tokens than the maximum are refused at parse time", async () => {
    const many = `{ health { ${"ok ".repeat(limits.maxQueryTokens)} } }`;
    const res = await t.gql(many, {}, key);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    // (graphql-js spells it "more that").
    expect(res.errors![0].message).toMatch(new RegExp(`Document contains more tha[nt] ${limits.maxQueryTokens} tokens`));
  });
});
