import { createHash, randomBytes } from "node:crypto";
import { AppError } from "../errors.js";
import type { Store } from "../store/store.js";
import { ApiKeyCache } from "./api-key-cache.js";
import { anonymous, requireRole, type Caller, type Role } from "./authorization.js";

const KEY_PREFIX = "mhk_";
export const hashApiKey = (key: string): string => createHash("sha256").update(key).digest("hex");

export interface IssuedKey {
  id: string;
  /** The secret; shown once, stored only as a hash. */
  key: string;
  prefix: string;
  role: Role;
  groupId: string;
}

/** Groups and API keys: issuing, resolving `Authorization` headers, revoking. */
export class AuthService {
  private readonly keys: ApiKeyCache;

  constructor(private readonly store: Store) {
    this.keys = new ApiKeyCache((hash) => this.store.groups.findApiKeyByHash(hash));
  }

  /** Resolves an Authorization header value to a caller. Never throws: an anonymous caller carries the reason. */
  async authenticate(authorization: string | undefined | null): Promise<Caller> {
    if (!authorization) return anonymous("missing API key: send the header 'Authorization: Bearer <key>'");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return anonymous("malformed Authorization header: expected 'Bearer <key>'");
    const record = await this.keys.find(hashApiKey(match[1]));
    if (!record) return anonymous("invalid API key");
    if (record.revokedAt) return anonymous(`API key ${record.prefix}… was revoked on ${record.revokedAt.toISOString()}`);
    return { groupId: record.groupId, role: record.role, apiKeyId: record.id };
  }

  /** Creates a group with a first key (the local bootstrap, tests, admin tooling). */
  async createGroupWithKey(groupName: string, role: Role = "ADMIN", keyName = "initial"): Promise<IssuedKey> {
    return this.store.transaction(async (tx) => {
      if (await tx.groups.findGroupByName(groupName)) {
        throw new AppError("CONFLICT", `a group named '${groupName}' already exists`);
      }
      const group = await tx.groups.createGroup(groupName);
      return issue(tx, group.id, keyName, role);
    });
  }

  /** ADMIN: a new key for the caller's own group. */
  async createApiKey(caller: Caller, name: string, role: Role): Promise<IssuedKey> {
    const ctx = requireRole(caller, "ADMIN");
    if (name.trim().length < 1 || name.length > 100) {
      throw new AppError("BAD_USER_INPUT", `name: expected 1 to 100 characters, got ${JSON.stringify(name.slice(0, 120))}`);
    }
    return issue(this.store, ctx.groupId, name.trim(), role);
  }

  /** ADMIN: revokes one of the group's keys. */
  async revokeApiKey(caller: Caller, keyId: string): Promise<boolean> {
    const ctx = requireRole(caller, "ADMIN");
    if (!(await this.store.groups.revokeApiKey(ctx.groupId, keyId))) {
      throw new AppError("NOT_FOUND", `apiKeyId: no active API key '${keyId}' in this group`);
    }
    this.keys.forget(keyId);
    return true;
  }

  async listApiKeys(caller: Caller) {
    const ctx = requireRole(caller, "ADMIN");
    return this.store.groups.listApiKeys(ctx.groupId);
  }

  async whoAmI(caller: Caller) {
    const ctx = requireRole(caller, "READER");
    const group = await this.store.groups.findGroup(ctx.groupId);
    return { groupId: ctx.groupId, groupName: group?.name ?? "", role: ctx.role, apiKeyId: ctx.apiKeyId };
  }
}

async function issue(store: Store, groupId: string, name: string, role: Role): Promise<IssuedKey> {
  const key = KEY_PREFIX + randomBytes(30).toString("base64url");
  const prefix = key.slice(0, 12);
  const record = await store.groups.createApiKey({ groupId, name, prefix, hash: hashApiKey(key), role });
  return { id: record.id, key, prefix, role, groupId };
}
