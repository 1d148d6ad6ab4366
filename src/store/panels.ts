import type { DbOrTx } from "./db.js";

/** A recognizer panel version (issue 13): a named, versioned, immutable list of recognizer model ids. */
export interface PanelRecord {
  id: string;
  groupId: string;
  name: string;
  version: number;
  modelIds: string[];
  createdAt: Date;
}

export class PanelStore {
  constructor(private readonly db: DbOrTx) {}

  /** The newest version of the group's panel `name`, or null. */
  latest(groupId: string, name: string): Promise<PanelRecord | null> {
    return this.db.recognizerPanel.findFirst({ where: { groupId, name }, orderBy: { version: "desc" } });
  }

  /** Version n+1 of `name` (1 when new). The unique (groupId, name, version) index refuses a racing twin. */
  async create(groupId: string, name: string, modelIds: string[]): Promise<PanelRecord> {
    const latest = await this.latest(groupId, name);
    return this.db.recognizerPanel.create({ data: { groupId, name, version: (latest?.version ?? 0) + 1, modelIds } });
  }

  find(groupId: string, id: string): Promise<PanelRecord | null> {
    return this.db.recognizerPanel.findFirst({ where: { id, groupId } });
  }

  /** The group's panels, newest first, at most `first`. */
  list(groupId: string, first: number, name: string | null): Promise<PanelRecord[]> {
    return this.db.recognizerPanel.findMany({
      where: { groupId, ...(name === null ? {} : { name }) },
      orderBy: [{ createdAt: "desc" }, { version: "desc" }],
      take: first,
    });
  }
}
