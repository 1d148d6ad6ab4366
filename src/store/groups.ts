import type { DbOrTx } from "./db.js";
import type { Role } from "../generated/prisma/enums.js";

export interface GroupRecord {
  id: string;
  name: string;
  createdAt: Date;
}

export interface ApiKeyRecord {
  id: string;
  groupId: string;
  name: string;
  prefix: string;
  role: Role;
  /** the hub operator's key: creates groups */
  instanceAdmin: boolean;
  /** refused at authentication from this instant on; null: never */
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface NewApiKey {
  groupId: string;
  name: string;
  prefix: string;
  hash: string;
  role: Role;
  instanceAdmin?: boolean;
  expiresAt?: Date | null;
}

export interface GroupSummary extends GroupRecord {
  /** keys neither revoked nor expired at the time given to listGroups */
  activeKeys: number;
}

const keyColumns = {
  id: true,
  groupId: true,
  name: true,
  prefix: true,
  role: true,
  instanceAdmin: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  createdAt: true,
} as const;

/** Groups (labs), their API keys (stored as sha256 hashes) and blob grants. */
export class GroupStore {
  constructor(private readonly db: DbOrTx) {}

  createGroup(name: string): Promise<GroupRecord> {
    return this.db.group.create({ data: { name } });
  }

  findGroupByName(name: string): Promise<GroupRecord | null> {
    return this.db.group.findUnique({ where: { name } });
  }

  findGroup(id: string): Promise<GroupRecord | null> {
    return this.db.group.findUnique({ where: { id } });
  }

  /** The group created first (`local` of the first `npm start`, `admin` of a cloud bootstrap). */
  async firstGroupId(): Promise<string | null> {
    const first = await this.db.group.findFirst({ orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true } });
    return first?.id ?? null;
  }

  /** Every group, oldest first, with its count of usable keys at `now` (bounded by `first`). */
  async listGroups(now: Date, first: number): Promise<GroupSummary[]> {
    const rows = await this.db.group.findMany({
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: first,
      include: { _count: { select: { apiKeys: { where: { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } } } } },
    });
    return rows.map(({ _count, ...g }) => ({ ...g, activeKeys: _count.apiKeys }));
  }

  countGroups(): Promise<number> {
    return this.db.group.count();
  }

  createApiKey(input: NewApiKey): Promise<ApiKeyRecord> {
    return this.db.apiKey.create({ data: input, select: keyColumns });
  }

  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.db.apiKey.findUnique({ where: { hash }, select: keyColumns });
  }

  listApiKeys(groupId: string): Promise<ApiKeyRecord[]> {
    return this.db.apiKey.findMany({ where: { groupId }, select: keyColumns, orderBy: { createdAt: "asc" } });
  }

  /** Marks a key revoked at `at`; returns false when the group has no such active key. */
  async revokeApiKey(groupId: string, keyId: string, at: Date = new Date()): Promise<boolean> {
    const r = await this.db.apiKey.updateMany({ where: { id: keyId, groupId, revokedAt: null }, data: { revokedAt: at } });
    return r.count > 0;
  }

  async touchApiKey(keyId: string): Promise<void> {
    await this.db.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: new Date() } });
  }

  /** Lets a group download a blob (idempotent). */
  async grantBlob(groupId: string, sha256: string): Promise<void> {
    // INSERT ... ON CONFLICT DO NOTHING: Prisma's upsert reads then inserts, and two uploads of the same bytes by one
    // group at once then both insert and one fails on the primary key.
    await this.db.blobGrant.createMany({ data: [{ groupId, sha256 }], skipDuplicates: true });
  }

  async canReadBlob(groupId: string, sha256: string): Promise<boolean> {
    return (await this.db.blobGrant.count({ where: { groupId, sha256 } })) > 0;
  }
}
