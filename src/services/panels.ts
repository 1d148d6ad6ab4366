import { AppError } from "../errors.js";
import type { PanelRecord } from "../store/panels.js";
import type { Store } from "../store/store.js";
import { type Caller, type RequestContext, requireRole } from "./authorization.js";
import { checkCount } from "./limits.js";

/**
 * Recognizer panels (issue 13 item 3): a named, versioned set of recognizer models. Curves, the matrix,
 * idiosyncrasy and the exports take one (`panelId`), so that models added to the group later cannot change a result;
 * without one they use every recognizer with results, and every response lists the recognizers it used.
 */

export const PANEL_MAX_MODELS = 200;
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,99}$/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type PanelView = PanelRecord;

export class PanelService {
  constructor(private readonly store: Store) {}

  /**
   * MEMBER: version n+1 of the group's panel `name` (1 when new) with these recognizers (visible models with an ONNX
   * file or imported reference models; order kept, repeats refused). Creating the same list as the newest version
   * returns that version: rerunning a script does not pile up identical versions.
   */
  async create(caller: Caller, name: string, modelIds: string[]): Promise<PanelView> {
    const ctx = requireRole(caller, "MEMBER");
    if (!NAME.test(name)) {
      throw new AppError("BAD_USER_INPUT", `name: expected 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit, got '${name}'`);
    }
    if (modelIds.length === 0) throw new AppError("BAD_USER_INPUT", "modelIds: expected at least one recognizer model id, got an empty list");
    if (modelIds.length > PANEL_MAX_MODELS) {
      throw new AppError("BAD_USER_INPUT", `modelIds: at most ${PANEL_MAX_MODELS} recognizers per panel, got ${modelIds.length}`);
    }
    const seen = new Set<string>();
    for (const [i, id] of modelIds.entries()) {
      if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `modelIds[${i}]: expected a model id (a UUID), got '${id}'`);
      if (seen.has(id.toLowerCase())) throw new AppError("BAD_USER_INPUT", `modelIds[${i}]: '${id}' is listed twice`);
      seen.add(id.toLowerCase());
      if (!(await this.store.models.findVisible(ctx.groupId, id))) {
        throw new AppError("NOT_FOUND", `modelIds[${i}]: no model with id '${id}' is visible to this group`);
      }
    }
    const ids = modelIds.map((id) => id.toLowerCase());
    const latest = await this.store.panels.latest(ctx.groupId, name);
    if (latest && latest.modelIds.length === ids.length && latest.modelIds.every((id, i) => id === ids[i])) return latest;
    return this.store.panels.create(ctx.groupId, name, ids).catch(async (e: unknown) => {
      // Two requests raced for the same version: the loser returns the winner's when it has the same list.
      const winner = await this.store.panels.latest(ctx.groupId, name);
      if (winner && winner.modelIds.join() === ids.join()) return winner;
      throw e;
    });
  }

  async get(caller: Caller, id: string): Promise<PanelView | null> {
    const ctx = requireRole(caller, "READER");
    return UUID.test(id) ? this.store.panels.find(ctx.groupId, id) : null;
  }

  /** The group's panels (every version), newest first; `name` keeps one panel's versions. */
  async list(caller: Caller, args: { first?: number | null; name?: string | null }): Promise<PanelView[]> {
    const ctx = requireRole(caller, "READER");
    const first = checkCount("first", args.first ?? 100, "pageFirst");
    return this.store.panels.list(ctx.groupId, first, args.name ?? null);
  }

  /** The recognizer ids of a panel of the caller's group, for the metrics; NOT_FOUND names `argument`. */
  async recognizers(ctx: RequestContext, panelId: string, argument = "panelId"): Promise<PanelView> {
    const panel = UUID.test(panelId) ? await this.store.panels.find(ctx.groupId, panelId) : null;
    if (!panel) throw new AppError("NOT_FOUND", `${argument}: no recognizer panel '${panelId}' in this group`);
    return panel;
  }
}
