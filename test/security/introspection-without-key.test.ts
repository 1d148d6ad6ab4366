import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 9: the schema (introspection) and "Did you mean ...?" suggestions, which name existing fields, are
// for callers with a key only.
describe("introspection and field suggestions need an API key", () => {
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("lab-introspection", "READER"));
  });
  afterAll(async () => {
    await t?.close();
  });

  it("__schema and __type are refused without a key and answered with one", async () => {
    for (const query of [`{ __schema { queryType { name } } }`, `{ __type(name: "Model") { fields { name } } }`]) {
      const anonymous = await t.gql(query);
      expect(anonymous.status).toBe(400);
      expect(anonymous.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(anonymous.errors![0].message).toContain("introspection (__schema, __type) needs an API key");
      expect(anonymous.data ?? null).toBeNull();
      const bad = await t.gql(query, {}, "not-a-real-key");
      expect(bad.errors?.[0]?.message).toContain("needs an API key");
      const authenticated = await t.gql(query, {}, key);
      expect(authenticated.errors).toBeUndefined();
    }
    // __typename is not introspection of the schema, and health stays open.
    expect((await t.gql(`{ __typename health { ok } }`)).data).toEqual({ __typename: "Query", health: { ok: true } });
  });

  it("a misspelt field gets no suggestion without a key, and one with a key", async () => {
    const anonymous = await t.gql(`{ helth { ok } }`);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(anonymous.errors![0].message).toBe(`Cannot query field "helth" on type "Query".`);
    const withKey = await t.gql(`{ helth { ok } }`, {}, key);
    expect(withKey.errors![0].message).toMatch(/Did you mean "health"\?/);
    // Arguments and enum values too.
    const arg = await t.gql(`{ models(frist: 1) { totalCount } }`);
    expect(arg.errors![0].message).not.toMatch(/Did you mean/);
    expect((await t.gql(`{ models(frist: 1) { totalCount } }`, {}, key)).errors![0].message).toMatch(/Did you mean "first"\?/);
  });
});
