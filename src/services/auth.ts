import { createHash, randomBytes } from "node:crypto";
import { AppError } from "../errors.js";
import type { GroupSummary } from "../store/groups.js";
import type { Store } from "../store/store.js";
import { ApiKeyCache } from "./api-key-cache.js";
import { anonymous, requireInstanceAdmin, requireRole, systemClock, type Caller, type Clock, type Role } from "./authorization.js";
import { checkCount } from "./limits.js";
import { looksLikePartnerToken, PartnerIdentityService } from "./partner-identity.js";

const KEY_PREFIX = "mhk_";
export const hashApiKey = (key: string): string => createHash("sha256").update(key).digest("hex");

/** Group names: what shares and the CLI name groups by, so plain and unambiguous. */
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ROLES: readonly Role[] = ["READER", "MEMBER", "ADMIN"];

export interface IssuedKey {
  id: string;
  /** The secret; shown once, stored only as a hash. */
  key: string;
  prefix: string;
  role: Role;
  groupId: string;
  instanceAdmin: boolean;
  expiresAt: Date | null;
}

export interface CreatedGroup {
  group: GroupSummary;
  /** The group's first ADMIN key (its secret shown only now). */
  adminKey: IssuedKey;
}

export interface ApiKeyOptions {
  /** Refused at authentication from this instant on; must be in the future. */
  expiresAt?: Date | null;
  /** Instance admins only: the new key is an instance-admin key too. */
  instanceAdmin?: boolean | null;
}

/** Groups and API keys: issuing, resolving `Authorization` headers (expiry and revocation), revoking. */
export class AuthService {
  private readonly keys: ApiKeyCache;

  constructor(
    private readonly store: Store,
    /** The hub's clock: key expiry and the request time that embargoes are judged at. */
    readonly clock: Clock = systemClock,
    /** Verifies partner tokens (JWTs of a consortium); by default a hub of no consortium, which refuses them all. */
    private readonly partners: PartnerIdentityService = new PartnerIdentityService(undefined, clock),
  ) {
    // Expiry is judged on the cached row at every request, so caching the row never extends a key's life.
    this.keys = new ApiKeyCache((hash) => this.store.groups.findApiKeyByHash(hash));
  }

  /**
   * Resolves an Authorization header value to a caller: an API key of this hub, or a partner token (a JWT, told apart
   * by its shape) of the hub's consortium. Never throws: an anonymous caller carries the reason.
   */
  async authenticate(authorization: string | undefined | null): Promise<Caller> {
    if (!authorization) return anonymous("missing API key: send the header 'Authorization: Bearer <key>'");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return anonymous("malformed Authorization header: expected 'Bearer <key>'");
    if (looksLikePartnerToken(match[1])) return this.partners.authenticate(match[1]);
    const record = await this.keys.find(hashApiKey(match[1]));
    if (!record) return anonymous("invalid API key");
    if (record.revokedAt) return anonymous(`API key ${record.prefix}… was revoked on ${record.revokedAt.toISOString()}`);
    const at = this.clock();
    if (record.expiresAt && record.expiresAt.getTime() <= at.getTime()) {
      return anonymous(`API key ${record.prefix}… expired on ${record.expiresAt.toISOString()}`);
    }
    return { groupId: record.groupId, role: record.role, apiKeyId: record.id, instanceAdmin: record.instanceAdmin, at };
  }

  /**
   * Creates a group with a first key (the local bootstrap, tests, admin tooling; the caller is trusted). The key that
   * comes with the hub's very first group is an instance-admin key: it is the hub operator's.
   */
  async createGroupWithKey(groupName: string, role: Role = "ADMIN", keyName = "initial"): Promise<IssuedKey> {
    return this.store.transaction(async (tx) => {
      if (await tx.groups.findGroupByName(groupName)) {
        throw new AppError("CONFLICT", `a group named '${groupName}' already exists`);
      }
      const first = (await tx.groups.countGroups()) === 0;
      const group = await tx.groups.createGroup(groupName);
      return issue(tx, group.id, keyName, role, { instanceAdmin: first && role === "ADMIN" });
    });
  }

  /** Instance admin: a new group and its first ADMIN key. */
  async createGroup(caller: Caller, name: string, keyName = "initial admin"): Promise<CreatedGroup> {
    requireInstanceAdmin(caller);
    if (!GROUP_NAME.test(name)) {
      throw new AppError(
        "BAD_USER_INPUT",
        `name: expected 1 to 64 letters, digits, '_', '.' or '-' starting with a letter or digit, got ${JSON.stringify(name.slice(0, 80))}`,
      );
    }
    checkKeyName(keyName);
    return this.store.transaction(async (tx) => {
      if (await tx.groups.findGroupByName(name)) throw new AppError("CONFLICT", `name: a group named '${name}' already exists`);
      const group = await tx.groups.createGroup(name);
      return { group: { ...group, activeKeys: 1 }, adminKey: await issue(tx, group.id, keyName.trim(), "ADMIN", {}) };
    });
  }

  /** Any key of the hub: the groups (names are what shares target), oldest first. */
  async listGroups(caller: Caller, first?: number | null) {
    requireRole(caller, "READER");
    return this.store.groups.listGroups(this.clock(), checkCount("first", first ?? 100, "pageFirst"));
  }

  /** ADMIN: a new key for the caller's own group, with an optional expiry. */
  async createApiKey(caller: Caller, name: string, role: Role, options: ApiKeyOptions = {}): Promise<IssuedKey> {
    const ctx = requireRole(caller, "ADMIN");
    checkKeyName(name);
    if (!ROLES.includes(role)) throw new AppError("BAD_USER_INPUT", `role: expected one of ${ROLES.join(", ")}, got '${String(role)}'`);
    const expiresAt = options.expiresAt ?? null;
    if (expiresAt) {
      const now = this.clock();
      if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now.getTime()) {
        throw new AppError("BAD_USER_INPUT", `expiresAt: expected an instant after now (${now.toISOString()}), got ${Number.isNaN(expiresAt.getTime()) ? "an invalid date" : expiresAt.toISOString()}`);
      }
    }
    if (options.instanceAdmin && !ctx.instanceAdmin) {
      throw new AppError("FORBIDDEN", "instanceAdmin: only an instance-admin key may create another instance-admin key");
    }
    return issue(this.store, ctx.groupId, name.trim(), role, { expiresAt, instanceAdmin: !!options.instanceAdmin });
  }

  /** ADMIN: revokes one of the group's keys. */
  async revokeApiKey(caller: Caller, keyId: string): Promise<boolean> {
    const ctx = requireRole(caller, "ADMIN");
    const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(keyId);
    if (!valid || !(await this.store.groups.revokeApiKey(ctx.groupId, keyId, this.clock()))) {
      throw new AppError("NOT_FOUND", `apiKeyId: no active API key '${keyId.slice(0, 80)}' in this group`);
    }
    this.keys.forget(keyId);
    return true;
  }

  /** ADMIN: the group's keys (prefixes, roles, expiry; never the secret, which only its creation returned). */
  async listApiKeys(caller: Caller) {
    const ctx = requireRole(caller, "ADMIN");
    return this.store.groups.listApiKeys(ctx.groupId);
  }

  async whoAmI(caller: Caller) {
    const ctx = requireRole(caller, "READER");
    const group = await this.store.groups.findGroup(ctx.groupId);
    return { groupId: ctx.groupId, groupName: group?.name ?? "", role: ctx.role, apiKeyId: ctx.apiKeyId, instanceAdmin: !!ctx.instanceAdmin };
  }
}

function checkKeyName(name: string): void {
  if (name.trim().length < 1 || name.length > 100) {
    throw new AppError("BAD_USER_INPUT", `name: expected 1 to 100 characters, got ${JSON.stringify(name.slice(0, 120))}`);
  }
}

async function issue(
  store: Store,
  groupId: string,
  name: string,
  role: Role,
  options: { expiresAt?: Date | null; instanceAdmin?: boolean },
): Promise<IssuedKey> {
  const key = KEY_PREFIX + randomBytes(30).toString("base64url");
  const prefix = key.slice(0, 12);
  const record = await store.groups.createApiKey({
    groupId,
    name,
    prefix,
    hash: hashApiKey(key),
    role,
    instanceAdmin: options.instanceAdmin ?? false,
    expiresAt: options.expiresAt ?? null,
  });
  return { id: record.id, key, prefix, role, groupId, instanceAdmin: record.instanceAdmin, expiresAt: record.expiresAt };
}
