import type { DbOrTx } from "./db.js";

/**
 * Label maps (issue 12 item 5): a named, immutable mapping from a model's class labels to a coarser label set (the
 * authors' force_16_choice). `categories` is what was uploaded (category -> classes); `classToCategory` its inverse and
 * `categoryNames` its keys, stored alongside so that the recognition SQL (store/recognition.ts) can map a label in place.
 */
export interface LabelMapRecord {
  id: string;
  groupId: string;
  name: string;
  categoryNames: string[];
  categories: Record<string, string[]>;
  classToCategory: Record<string, string>;
  createdAt: Date;
}

/** How many maps a listing returns at most (a group has a handful; the bound keeps the query bounded). */
export const LABEL_MAPS_LIST_MAX = 500;

type Row = { id: string; groupId: string; name: string; categoryNames: string[]; categories: unknown; classToCategory: unknown; createdAt: Date };

function toRecord(r: Row): LabelMapRecord {
  return {
    id: r.id,
    groupId: r.groupId,
    name: r.name,
    categoryNames: r.categoryNames,
    categories: r.categories as Record<string, string[]>,
    classToCategory: r.classToCategory as Record<string, string>,
    createdAt: r.createdAt,
  };
}

export class LabelMapStore {
  constructor(private readonly db: DbOrTx) {}

  /** Inserts a map; the unique (groupId, name) index refuses a second map of the same name (the caller says CONFLICT). */
  async create(groupId: string, name: string, categories: Record<string, string[]>): Promise<LabelMapRecord> {
    const classToCategory: Record<string, string> = {};
    for (const [category, classes] of Object.entries(categories)) for (const c of classes) classToCategory[c] = category;
    return toRecord(await this.db.labelMap.create({ data: { groupId, name, categoryNames: Object.keys(categories), categories, classToCategory } }));
  }

  async find(groupId: string, id: string): Promise<LabelMapRecord | null> {
    const row = await this.db.labelMap.findFirst({ where: { id, groupId } });
    return row && toRecord(row);
  }

  async findByName(groupId: string, name: string): Promise<LabelMapRecord | null> {
    const row = await this.db.labelMap.findFirst({ where: { groupId, name } });
    return row && toRecord(row);
  }

  /** The group's maps, newest first. */
  async list(groupId: string): Promise<LabelMapRecord[]> {
    const rows = await this.db.labelMap.findMany({ where: { groupId }, orderBy: { createdAt: "desc" }, take: LABEL_MAPS_LIST_MAX });
    return rows.map(toRecord);
  }

  /** The map a model's decisions are scored in, or null (its own classes). */
  async forModel(modelId: string): Promise<LabelMapRecord | null> {
    const row = await this.db.model.findUnique({ where: { id: modelId }, select: { labelMap: true } });
    return row?.labelMap ? toRecord(row.labelMap) : null;
  }

  /**
   * Attaches (or, with null, detaches) a model's map and deletes the recognitions it invalidates: those the model made
   * (its decisions change) and those of its metamers (their target category may come from its map). They are derived
   * data, recomputed by the recognition backlog. Call inside a transaction. Returns how many rows were deleted.
   */
  async attach(modelId: string, labelMapId: string | null): Promise<number> {
    await this.db.model.update({ where: { id: modelId }, data: { labelMapId } });
    return this.db.$executeRaw`
      DELETE FROM "Recognition" r
       WHERE r."recognizerId" = ${modelId}::uuid
          OR r."metamerId" IN (SELECT m.id FROM "Metamer" m WHERE m."modelId" = ${modelId}::uuid)`;
  }

  /** The ids of a model's validated metamers (whose recognitions `attach` deleted), to schedule them again. */
  async validatedMetamerIds(modelId: string): Promise<string[]> {
    const rows = await this.db.metamer.findMany({ where: { modelId, passed: true }, select: { id: true }, orderBy: { id: "asc" } });
    return rows.map((r) => r.id);
  }
}
