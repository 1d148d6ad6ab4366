import { AppError } from "../errors.js";
import { isUniqueViolation } from "../store/errors.js";
import type { LabelMapRecord } from "../store/label-maps.js";
import type { ModelRecord } from "../store/models.js";
import type { Store } from "../store/store.js";
import { type Caller, requireRole } from "./authorization.js";
import { enqueueRecognitionForMetamers, enqueueRecognitionForModel } from "./recognition.js";

/**
 * Label maps (issue 12 item 5): a named mapping from a model's class labels to a coarser label set, e.g. the 16
 * categories of the authors' 16-way ImageNet experiments (force_16_choice). A model with a map is scored in its
 * categories, in the label check of its certificates and in recognition, so a 1000-way model is compared on the 16
 * categories and models with different classes recognize each other's metamers when their maps share the categories.
 * Maps are immutable (a changed map would silently change stored results): a new mapping is a new name.
 */

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,99}$/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Bounds of an upload: ImageNet's 1,000 classes fit many times over. */
export const LABEL_MAP_MAX_JSON_BYTES = 1024 * 1024;
export const LABEL_MAP_MAX_CATEGORIES = 1000;
export const LABEL_MAP_MAX_CLASSES = 100_000;
const MAX_LABEL_CHARS = 200;

/** What arrived, shortened for an error message. */
const shown = (v: unknown) => {
  const text = typeof v === "string" ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const bad = (message: string) => new AppError("BAD_USER_INPUT", message);

/**
 * Parses and checks an uploaded map: {"categories": {"dog": ["n02085620", ...], ...}}. Refuses bad JSON, empty or
 * non-string labels, a class listed twice (in one category or two: categories must not overlap), and a class that is
 * also another category's name (a stimulus labelled with it would have two answers).
 */
export function parseLabelMap(json: string): Record<string, string[]> {
  if (Buffer.byteLength(json, "utf8") > LABEL_MAP_MAX_JSON_BYTES) {
    throw bad(`json: at most ${LABEL_MAP_MAX_JSON_BYTES} bytes, got ${Buffer.byteLength(json, "utf8")}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw bad(`json: expected JSON like {"categories": {"dog": ["n02085620", ...]}}, got text that does not parse (${(e as Error).message})`);
  }
  const categories = (doc as { categories?: unknown } | null)?.categories;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || typeof categories !== "object" || categories === null || Array.isArray(categories)) {
    throw bad(`json: expected an object with a "categories" object (category -> list of class labels), got ${shown(doc)}`);
  }
  const extra = Object.keys(doc).filter((k) => k !== "categories");
  if (extra.length) throw bad(`json: expected only the key "categories", got also ${extra.map((k) => `"${k}"`).join(", ")}`);
  const entries = Object.entries(categories as Record<string, unknown>);
  if (entries.length === 0) throw bad(`json.categories: expected at least one category, got none`);
  if (entries.length > LABEL_MAP_MAX_CATEGORIES) throw bad(`json.categories: at most ${LABEL_MAP_MAX_CATEGORIES} categories, got ${entries.length}`);
  const owner = new Map<string, string>();
  const out: Record<string, string[]> = {};
  for (const [category, classes] of entries) {
    const where = `json.categories[${JSON.stringify(category)}]`;
    if (category.trim() === "" || category.length > MAX_LABEL_CHARS) {
      throw bad(`json.categories: expected category names of 1-${MAX_LABEL_CHARS} characters, got ${shown(category)}`);
    }
    if (!Array.isArray(classes) || classes.length === 0) throw bad(`${where}: expected a non-empty list of class labels, got ${shown(classes)}`);
    for (const [i, c] of classes.entries()) {
      if (typeof c !== "string" || c.trim() === "" || c.length > MAX_LABEL_CHARS) {
        throw bad(`${where}[${i}]: expected a class label (a string of 1-${MAX_LABEL_CHARS} characters), got ${shown(c)}`);
      }
      const first = owner.get(c);
      if (first !== undefined) {
        throw bad(first === category
          ? `${where}[${i}]: class '${c}' is listed twice in category '${category}'`
          : `${where}[${i}]: class '${c}' is in categories '${first}' and '${category}'; categories must not overlap (each class answers one category)`);
      }
      owner.set(c, category);
    }
    out[category] = classes as string[];
  }
  if (owner.size > LABEL_MAP_MAX_CLASSES) throw bad(`json.categories: at most ${LABEL_MAP_MAX_CLASSES} classes in all, got ${owner.size}`);
  for (const [c, category] of owner) {
    if (c !== category && Object.hasOwn(out, c)) {
      throw bad(`json.categories: class '${c}' (in category '${category}') is also the name of a category; a stimulus labelled '${c}' would have two answers`);
    }
  }
  return out;
}

/**
 * The map's classes must all be classes of the model (a misspelt WordNet id would silently shrink a category). Lists the
 * first unknown ones.
 */
export function checkMapFitsModel(map: LabelMapRecord, model: Pick<ModelRecord, "name" | "classLabels">): void {
  const known = new Set(model.classLabels);
  const unknown = Object.keys(map.classToCategory).filter((c) => !known.has(c));
  if (unknown.length) {
    const sample = unknown.slice(0, 5).map((c) => `'${c}'`).join(", ");
    throw bad(
      `labelMapId: label map '${map.name}' lists ${unknown.length} label(s) that are not classes of model '${model.name}' ` +
        `(${model.classLabels.length} classes): ${sample}${unknown.length > 5 ? ", ..." : ""}`,
    );
  }
}

export class LabelMapService {
  constructor(private readonly store: Store) {}

  /** MEMBER: a new label map of the group from its JSON; CONFLICT when the name is taken (maps are immutable). */
  async create(caller: Caller, name: string, json: string): Promise<LabelMapRecord> {
    const ctx = requireRole(caller, "MEMBER");
    if (!NAME.test(name)) {
      throw bad(`name: expected 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit, got ${shown(name)}`);
    }
    const categories = parseLabelMap(json);
    try {
      return await this.store.labelMaps.create(ctx.groupId, name, categories);
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError("CONFLICT", `name: the group already has a label map '${name}'; label maps are immutable, so upload the new mapping under a new name`);
      throw e;
    }
  }

  async get(caller: Caller, id: string): Promise<LabelMapRecord | null> {
    const ctx = requireRole(caller, "READER");
    return UUID.test(id) ? this.store.labelMaps.find(ctx.groupId, id) : null;
  }

  /** The group's label maps, newest first (at most LABEL_MAPS_LIST_MAX). */
  async list(caller: Caller): Promise<LabelMapRecord[]> {
    const ctx = requireRole(caller, "READER");
    return this.store.labelMaps.list(ctx.groupId);
  }

  /** The map a model is scored in (for the Model.labelMap field), or null. */
  forModel(modelId: string): Promise<LabelMapRecord | null> {
    return this.store.labelMaps.forModel(modelId);
  }

  /**
   * MEMBER: scores the group's model in a label map's categories from now on (null: its own classes again). Its
   * recognitions, and those of its metamers, are derived from the label space, so they are deleted and scheduled again
   * (RECOGNITION jobs) in the same transaction. Certificates of metamers made before keep the label check they were
   * made with. Returns the model.
   */
  async setModelLabelMap(caller: Caller, modelId: string, labelMapId: string | null): Promise<ModelRecord> {
    const ctx = requireRole(caller, "MEMBER");
    if (!UUID.test(modelId)) throw bad(`modelId: expected a model id (a UUID), got ${shown(modelId)}`);
    if (labelMapId !== null && !UUID.test(labelMapId)) throw bad(`labelMapId: expected a label map id (a UUID) or null, got ${shown(labelMapId)}`);
    const model = await this.store.models.findVisible(ctx.groupId, modelId);
    if (!model || model.groupId !== ctx.groupId) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' in this group`);
    const map = labelMapId === null ? null : await this.store.labelMaps.find(ctx.groupId, labelMapId);
    if (labelMapId !== null && !map) throw new AppError("NOT_FOUND", `labelMapId: no label map '${labelMapId}' in this group`);
    if (map) checkMapFitsModel(map, model);
    await this.store.transaction(async (tx) => {
      await tx.labelMaps.attach(model.id, map?.id ?? null);
      await enqueueRecognitionForModel(tx, model.id);
      await enqueueRecognitionForMetamers(tx, await tx.labelMaps.validatedMetamerIds(model.id));
    }, { timeoutMs: 120_000 });
    return model;
  }
}
