// Groups, members and keys as an API (issue 15, item 1): the instance admin creates groups and their first ADMIN key;
// a group ADMIN creates, lists and revokes keys with roles and optional expiry; expiry is enforced at
// authentication on the hub's clock (moved here, never slept on); the secret is shown once and never listed. The CLI's
// `groups` and `keys` commands do the same through the API.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import type { CliEnvironment } from "../../src/config.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let now = new Date("2031-03-01T12:00:00Z");
let operator: { groupId: string; key: string };
let labAdmin: { groupId: string; key: string };
let tmp: string;

beforeAll(async () => {
  t = await startTestApp({ clock: () => now });
  // The hub's first group: its first ADMIN key is the instance admin (what `npm start` makes on a fresh data dir).
  operator = await t.createGroupWithKey("operators", "ADMIN");
  labAdmin = await t.createGroupWithKey("lab-a", "ADMIN");
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-groups-"));
});
afterAll(async () => {
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const me = async (key: string) => (await t.gql(`{ me { groupId groupName role instanceAdmin } }`, {}, key));
const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

async function cli(key: string, ...argv: string[]): Promise<any> {
  let text = "";
  const env: CliEnvironment = { url: t.url, apiKey: key, dataDir: path.join(tmp, "data") };
  await runCli([...argv, "--json"], { write: (s: string) => (text += s) }, env);
  return JSON.parse(text);
}

describe("groups", () => {
  it("the first group's first ADMIN key is the instance admin; other groups' ADMIN keys are not", async () => {
    expect((await me(operator.key)).data.me).toMatchObject({ groupName: "operators", role: "ADMIN", instanceAdmin: true });
    expect((await me(labAdmin.key)).data.me).toMatchObject({ groupName: "lab-a", role: "ADMIN", instanceAdmin: false });
  });

  it("only the instance admin creates a group, which comes with a working ADMIN key of its own", async () => {
    const create = `mutation($n: String!) { createGroup(name: $n) { group { id name activeKeys } adminKey { key role instanceAdmin } } }`;
    const refused = await t.gql(create, { n: "lab-x" }, labAdmin.key);
    expect(code(refused)).toBe("FORBIDDEN");
    expect(refused.errors![0].message).toMatch(/needs an instance-admin key/);

    const res = await t.gql(create, { n: "lab-b" }, operator.key);
    expect(res.errors).toBeUndefined();
    const { group, adminKey } = res.data.createGroup;
    expect(group).toMatchObject({ name: "lab-b", activeKeys: 1 });
    expect(adminKey).toMatchObject({ role: "ADMIN", instanceAdmin: false });
    expect((await me(adminKey.key)).data.me).toMatchObject({ groupId: group.id, groupName: "lab-b", role: "ADMIN", instanceAdmin: false });

    const again = await t.gql(create, { n: "lab-b" }, operator.key);
    expect(code(again)).toBe("CONFLICT");
    const bad = await t.gql(create, { n: "lab b/../" }, operator.key);
    expect(code(bad)).toBe("BAD_USER_INPUT");
    expect(bad.errors![0].message).toMatch(/^name: expected 1 to 64 letters.*got "lab b\/..\/"/);

    const names = (await t.gql(`{ groups { name } }`, {}, labAdmin.key)).data.groups.map((g: { name: string }) => g.name);
    expect(names).toEqual(expect.arrayContaining(["operators", "lab-a", "lab-b"]));
  });

  it("the CLI creates and lists groups through the API", async () => {
    const created = await cli(operator.key, "groups", "create", "lab-cli", "--key-name", "bootstrap");
    expect(created.group.name).toBe("lab-cli");
    expect((await me(created.adminKey.key)).data.me.groupName).toBe("lab-cli");
    const listed = await cli(labAdmin.key, "groups", "list");
    expect(listed.map((g: { name: string }) => g.name)).toContain("lab-cli");
    await expect(cli(labAdmin.key, "groups", "create", "lab-nope")).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});

describe("keys", () => {
  it("an ADMIN creates keys with roles and expiry; the key stops working at its expiry on the hub's clock", async () => {
    const create = `mutation($r: Role!, $e: DateTimeISO) { createApiKey(name: "robot", role: $r, expiresAt: $e) { id key role expiresAt } }`;
    const past = await t.gql(create, { r: "READER", e: new Date(now.getTime() - 1000).toISOString() }, labAdmin.key);
    expect(code(past)).toBe("BAD_USER_INPUT");
    expect(past.errors![0].message).toMatch(/^expiresAt: expected an instant after now \(2031-03-01T12:00:00.000Z\), got 2031-03-01T11:59:59.000Z/);

    const expiresAt = new Date(now.getTime() + 3_600_000);
    const issued = (await t.gql(create, { r: "READER", e: expiresAt.toISOString() }, labAdmin.key)).data.createApiKey;
    expect(issued).toMatchObject({ role: "READER", expiresAt: expiresAt.toISOString() });
    expect((await me(issued.key)).data.me).toMatchObject({ groupId: labAdmin.groupId, role: "READER" });

    const saved = now;
    try {
      now = new Date(expiresAt.getTime() - 1);
      expect((await me(issued.key)).data.me.role).toBe("READER");
      now = expiresAt;
      const expired = await me(issued.key);
      expect(code(expired)).toBe("UNAUTHENTICATED");
      expect(expired.errors![0].message).toMatch(/expired on 2031-03-01T13:00:00.000Z/);
    } finally {
      now = saved;
    }
  });

  it("lists keys without their secrets, revokes them, and refuses the revoked key", async () => {
    const issued = (await t.gql(`mutation { createApiKey(name: "temp", role: MEMBER) { id key prefix } }`, {}, labAdmin.key)).data.createApiKey;
    const list = await t.gql(`{ apiKeys { id name prefix role instanceAdmin expiresAt revokedAt } }`, {}, labAdmin.key);
    expect(list.data.apiKeys).toContainEqual({ id: issued.id, name: "temp", prefix: issued.prefix, role: "MEMBER", instanceAdmin: false, expiresAt: null, revokedAt: null });
    expect(JSON.stringify(list)).not.toContain(issued.key);
    // another group's keys are not listed
    expect(list.data.apiKeys.every((k: { id: string }) => k.id !== operator.groupId)).toBe(true);

    expect((await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: issued.id }, labAdmin.key)).data.revokeApiKey).toBe(true);
    const refused = await me(issued.key);
    expect(code(refused)).toBe("UNAUTHENTICATED");
    expect(refused.errors![0].message).toMatch(/was revoked on/);
    const again = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id: issued.id }, labAdmin.key);
    expect(code(again)).toBe("NOT_FOUND");
  });

  it("MEMBERs manage no keys, and only an instance admin mints instance-admin keys", async () => {
    const member = (await t.gql(`mutation { createApiKey(name: "m", role: MEMBER) { key } }`, {}, labAdmin.key)).data.createApiKey.key;
    expect(code(await t.gql(`mutation { createApiKey(name: "x", role: READER) { key } }`, {}, member))).toBe("FORBIDDEN");
    expect(code(await t.gql(`{ apiKeys { id } }`, {}, member))).toBe("FORBIDDEN");
    const escalate = await t.gql(`mutation { createApiKey(name: "x", role: ADMIN, instanceAdmin: true) { key } }`, {}, labAdmin.key);
    expect(code(escalate)).toBe("FORBIDDEN");
    const minted = await t.gql(`mutation { createApiKey(name: "ops2", role: ADMIN, instanceAdmin: true) { key instanceAdmin } }`, {}, operator.key);
    expect(minted.data.createApiKey.instanceAdmin).toBe(true);
    expect((await me(minted.data.createApiKey.key)).data.me.instanceAdmin).toBe(true);
  });

  it("the CLI creates, lists and revokes keys; the secret is printed once", async () => {
    const created = await cli(labAdmin.key, "keys", "create", "--name", "cli-key", "--role", "reader", "--expires", "2031-06-01T00:00:00Z");
    expect(created).toMatchObject({ role: "READER", expiresAt: "2031-06-01T00:00:00.000Z" });
    expect((await me(created.key)).data.me.role).toBe("READER");
    const listed = await cli(labAdmin.key, "keys", "list");
    expect(listed).toContainEqual(expect.objectContaining({ id: created.id, name: "cli-key", expiresAt: "2031-06-01T00:00:00.000Z" }));
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(await cli(labAdmin.key, "keys", "revoke", created.id)).toEqual({ id: created.id, revoked: true });
    expect(code(await me(created.key))).toBe("UNAUTHENTICATED");
    await expect(cli(labAdmin.key, "keys", "create", "--name", "x", "--role", "READER", "--expires", "soon")).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
  });
});
