// `metamers groups ...` and `metamers keys ...`: groups (instance admin) and a group's API keys (group ADMIN) through
// the GraphQL API. A key's secret is printed once, when it is created; lists never show it.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError } from "../errors.js";
import type { Output } from "./api-commands.js";
import type { MetamersClient } from "./client.js";

export const GROUPS_USAGE = `usage:
  metamers groups create <name> [--key-name <label>]   instance admin: a new group; prints its first ADMIN key once
  metamers groups list [--first <n>]                   the hub's groups (names are what shares target)`;

export const KEYS_USAGE = `usage:
  metamers keys create --name <label> --role READER|MEMBER|ADMIN [--expires <ISO 8601 instant>] [--instance-admin]
                                       group ADMIN: a new key of the group; prints the secret once
  metamers keys list                   group ADMIN: the group's keys (prefix, role, expiry, revocation; never the secret)
  metamers keys revoke <key id>        group ADMIN: the key is refused from now on`;

const ISSUED_FIELDS = "id key prefix role instanceAdmin expiresAt";

type Values = Record<string, string | boolean | undefined>;

function parse(argv: string[], usage: string, options: NonNullable<ParseArgsConfig["options"]>): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, json: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `${(e as Error).message}\n${usage}`);
  }
}

function one(positionals: string[], what: string, usage: string): string {
  if (positionals.length !== 1) throw new AppError("BAD_USER_INPUT", `expected ${what}, got ${positionals.length} arguments\n${usage}`);
  return positionals[0];
}

const print = (out: Output, json: boolean, value: unknown, text: () => string) => void out.write(json ? `${JSON.stringify(value)}\n` : text());

export async function groupsCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === "create") {
    const { values: v, positionals } = parse(rest, GROUPS_USAGE, { "key-name": { type: "string" } });
    const name = one(positionals, "one group name", GROUPS_USAGE);
    const { createGroup } = await client.gql(
      `mutation($name: String!, $keyName: String) { createGroup(name: $name, keyName: $keyName) { group { id name createdAt } adminKey { ${ISSUED_FIELDS} } } }`,
      { name, keyName: v["key-name"] ?? null },
    );
    return print(out, !!v.json, createGroup, () =>
      `group ${createGroup.group.name} (${createGroup.group.id})\nADMIN key (shown only now, store it): ${createGroup.adminKey.key}\n`,
    );
  }
  if (sub === "list") {
    const { values: v, positionals } = parse(rest, GROUPS_USAGE, { first: { type: "string" } });
    if (positionals.length) throw new AppError("BAD_USER_INPUT", `groups list: unexpected arguments ${positionals.join(" ")}\n${GROUPS_USAGE}`);
    const first = v.first === undefined ? null : Number(v.first);
    const { groups } = await client.gql(`query($first: Int) { groups(first: $first) { id name createdAt activeKeys } }`, { first });
    return print(out, !!v.json, groups, () =>
      groups.map((g: { id: string; name: string; activeKeys: number }) => `${g.id}  ${g.name}  (${g.activeKeys} active keys)\n`).join(""),
    );
  }
  throw new AppError("BAD_USER_INPUT", `groups: unknown subcommand ${sub ? `'${sub}'` : "(none)"}\n${GROUPS_USAGE}`);
}

export async function keysCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === "create") {
    const { values: v, positionals } = parse(rest, KEYS_USAGE, {
      name: { type: "string" },
      role: { type: "string" },
      expires: { type: "string" },
      "instance-admin": { type: "boolean", default: false },
    });
    if (positionals.length) throw new AppError("BAD_USER_INPUT", `keys create: unexpected arguments ${positionals.join(" ")}\n${KEYS_USAGE}`);
    if (!v.name || !v.role) throw new AppError("BAD_USER_INPUT", `keys create: expected --name and --role, got ${!v.name ? "no --name" : "no --role"}\n${KEYS_USAGE}`);
    const expires = v.expires as string | undefined;
    if (expires !== undefined && Number.isNaN(Date.parse(expires))) {
      throw new AppError("BAD_USER_INPUT", `keys create: --expires expects an ISO 8601 instant such as 2027-01-31T00:00:00Z, got '${expires}'`);
    }
    const { createApiKey } = await client.gql(
      `mutation($name: String!, $role: Role!, $expiresAt: DateTimeISO, $instanceAdmin: Boolean) {
        createApiKey(name: $name, role: $role, expiresAt: $expiresAt, instanceAdmin: $instanceAdmin) { ${ISSUED_FIELDS} } }`,
      { name: v.name, role: String(v.role).toUpperCase(), expiresAt: expires ? new Date(expires).toISOString() : null, instanceAdmin: v["instance-admin"] || null },
    );
    return print(out, !!v.json, createApiKey, () =>
      `key ${createApiKey.id} (${createApiKey.role}${createApiKey.expiresAt ? `, expires ${createApiKey.expiresAt}` : ""})\nsecret (shown only now, store it): ${createApiKey.key}\n`,
    );
  }
  if (sub === "list") {
    const { values: v, positionals } = parse(rest, KEYS_USAGE, {});
    if (positionals.length) throw new AppError("BAD_USER_INPUT", `keys list: unexpected arguments ${positionals.join(" ")}\n${KEYS_USAGE}`);
    const { apiKeys } = await client.gql(`{ apiKeys { id name prefix role instanceAdmin expiresAt revokedAt lastUsedAt createdAt } }`);
    type Key = { id: string; name: string; prefix: string; role: string; expiresAt: string | null; revokedAt: string | null };
    return print(out, !!v.json, apiKeys, () =>
      apiKeys
        .map((k: Key) => `${k.id}  ${k.prefix}…  ${k.role}  ${k.name}${k.revokedAt ? `  revoked ${k.revokedAt}` : k.expiresAt ? `  expires ${k.expiresAt}` : ""}\n`)
        .join(""),
    );
  }
  if (sub === "revoke") {
    const { values: v, positionals } = parse(rest, KEYS_USAGE, {});
    const id = one(positionals, "one key id", KEYS_USAGE);
    const { revokeApiKey } = await client.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id });
    return print(out, !!v.json, { id, revoked: revokeApiKey }, () => `revoked ${id}\n`);
  }
  throw new AppError("BAD_USER_INPUT", `keys: unknown subcommand ${sub ? `'${sub}'` : "(none)"}\n${KEYS_USAGE}`);
}
