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
  revokedAt: Date | null;
  createdAt: Date;
}

const keyColumns = { id: true, groupId: true, name: true, prefix: true, role: true, revokedAt: true, createdAt: true } as const;

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

  /** The group created first (`local`, made by the first `npm start`): its ADMIN keys administer the whole hub. */
  async firstGroupId(): Promise<string | null> {
    const first = await this.db.group.findFirst({ orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true } });
    return first?.id ?? null;
  }

  countGroups(): Promise<number> {
    return this.db.group.count();
  }

  createApiKey(input: { groupId: string; name: string; prefix: string; hash: string; role: Role }): Promise<ApiKeyRecord> {
    return this.db.apiKey.create({ data: input, select: keyColumns });
  }

  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.db.apiKey.findUnique({ where: { hash }, select: keyColumns });
  }

  listApiKeys(groupId: string): Promise<ApiKeyRecord[]> {
    return this.db.apiKey.findMany({ where: { groupId }, select: keyColumns, orderBy: { createdAt: "asc" } });
  }

  /** Marks a key revoked; returns false when the group has no such key. */
  async revokeApiKey(groupId: string, keyId: string): Promise<boolean> {
    const r = await this.db.apiKey.updateMany({ where: { id: keyId, groupId, revokedAt: null }, data: { revokedAt: new Date() } });
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
