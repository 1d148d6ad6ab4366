import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("health and authentication", () => {
  it("answers health without an API key", async () => {
    const r = await t.gql("{ health { ok database version } }");
    expect(r.errors).toBeUndefined();
    expect(r.data.health).toEqual({ ok: true, database: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it("rejects an authenticated query without a key as UNAUTHENTICATED", async () => {
    const r = await t.gql("{ me { groupId role } }");
    expect(r.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(r.errors?.[0].message).toMatch(/Authorization: Bearer/);
  });

  it("identifies the caller by its key, and refuses a revoked key", async () => {
    const { groupId, key } = await t.createGroupWithKey("health-lab", "ADMIN");
    const me = await t.gql("{ me { groupId groupName role } }", {}, key);
    expect(me.data.me).toEqual({ groupId, groupName: "health-lab", role: "ADMIN" });

    const issued = await t.gql(
      `mutation { createApiKey(name: "script", role: READER) { id key role } }`,
      {},
      key,
    );
    const reader = issued.data.createApiKey;
    expect(reader.role).toBe("READER");
    expect((await t.gql("{ me { role } }", {}, reader.key)).data.me.role).toBe("READER");

    // a READER may not manage keys
    const forbidden = await t.gql(`mutation { createApiKey(name: "x", role: ADMIN) { id } }`, {}, reader.key);
    expect(forbidden.errors?.[0].extensions?.code).toBe("FORBIDDEN");

    const revoked = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: reader.id }, key);
    expect(revoked.data.revokeApiKey).toBe(true);
    const after = await t.gql("{ me { role } }", {}, reader.key);
    expect(after.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    expect(after.errors?.[0].message).toMatch(/revoked/);
  });

  it("masks unknown keys and reports unknown routes as NOT_FOUND", async () => {
    const r = await t.gql("{ me { role } }", {}, "mhk_not-a-real-key");
    expect(r.errors?.[0]).toMatchObject({ message: "invalid API key", extensions: { code: "UNAUTHENTICATED" } });
    const res = await fetch(`${t.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe("NOT_FOUND");
  });

  it("answers invalid GraphQL input with BAD_USER_INPUT / validation codes", async () => {
    const { key } = await t.createGroupWithKey("validation-lab", "ADMIN");
    const r = await t.gql(`mutation { createApiKey(name: "", role: READER) { id } }`, {}, key);
    expect(r.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const bad = await t.gql(`{ nothing }`, {}, key);
    expect(bad.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
