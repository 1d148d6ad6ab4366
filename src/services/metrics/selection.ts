import { AppError } from "../../errors.js";
import type { ConfigSelection } from "../../store/metrics.js";
import type { Store } from "../../store/store.js";
import { type PartnerContext, type RequestContext, requireRole, viewerOf } from "../authorization.js";
import type { PanelService } from "../panels.js";

/**
 * What results a metrics query reads (issue 12 item 3, issue 13 item 3): which synthesis configurations, and which
 * recognizers. The rule, documented in the README ("Results by configuration"):
 * - `batchIds`: those batches' metamers only; the batches of one model must share a configuration unless
 *   `poolConfigurations` (batches of different models may differ: results are per generator).
 * - `configHash`: that configuration only.
 * - neither: per (generator, stage) the latest configuration (the one whose newest batch is newest), so a `--full`
 *   rerun after a default run replaces the default's numbers instead of averaging with them; `poolConfigurations`
 *   sums every configuration instead (the behaviour before configurations existed).
 * Every response names the configurations it used (`configHashes`).
 */
export interface SelectionArgs {
  batchIds?: string[] | null;
  configHash?: string | null;
  poolConfigurations?: boolean | null;
}

export interface PanelArgs {
  /** A recognizer panel of the caller's group; without one, every recognizer with results. */
  panelId?: string | null;
}

/** Batches one query may name. */
export const MAX_BATCH_IDS = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A service hash, a migration's hash of an older batch, or the markers of rows written without a batch. */
const CONFIG_HASH = /^(legacy-)?[0-9a-f]{64}$|^unbatched$|^unspecified$/;

export async function resolveSelection(store: Store, ctx: RequestContext | PartnerContext, args: SelectionArgs): Promise<ConfigSelection> {
  const pool = args.poolConfigurations === true;
  const batchIds = args.batchIds ?? null;
  const configHash = args.configHash ?? null;
  if (batchIds && configHash) {
    throw new AppError("BAD_USER_INPUT", "batchIds, configHash: give one of them (batches, or a configuration), got both");
  }
  if (configHash !== null && !CONFIG_HASH.test(configHash)) {
    throw new AppError("BAD_USER_INPUT", `configHash: expected a configuration hash (64 lower-case hex digits, as SynthesisBatch.configHash shows), got '${configHash}'`);
  }
  if (!batchIds) return { batchIds: null, configHash, pool };
  if (batchIds.length === 0) throw new AppError("BAD_USER_INPUT", "batchIds: expected at least one batch id, got an empty list");
  if (batchIds.length > MAX_BATCH_IDS) throw new AppError("BAD_USER_INPUT", `batchIds: at most ${MAX_BATCH_IDS} batches per query, got ${batchIds.length}`);
  batchIds.forEach((id, i) => {
    if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `batchIds[${i}]: expected a batch id (a UUID), got '${id}'`);
  });
  const ids = [...new Set(batchIds.map((id) => id.toLowerCase()))];
  const visible = await store.visibility.visibleIds(viewerOf(ctx), "SYNTHESIS_BATCH", ids);
  const found = new Map((await store.metrics.batchConfigurations(ids)).map((b) => [b.id, b]));
  batchIds.forEach((id, i) => {
    const batch = found.get(id.toLowerCase());
    if (!batch || !visible.has(batch.id)) throw new AppError("NOT_FOUND", `batchIds[${i}]: no synthesis batch '${id}' visible to this group`);
  });
  // Results are per generator, so the rule is per generator: one model's batches must share a configuration; batches
  // of different models (a matrix over several generators) may differ.
  const byModel = new Map<string, Set<string>>();
  for (const b of found.values()) (byModel.get(b.modelId) ?? byModel.set(b.modelId, new Set()).get(b.modelId)!).add(b.configHash);
  const mixed = [...byModel.entries()].find(([, configs]) => configs.size > 1);
  if (mixed && !pool) {
    const listing = ids.filter((id) => found.get(id)!.modelId === mixed[0]).map((id) => `${id}: ${found.get(id)!.configHash}`).join(", ");
    throw new AppError(
      "BAD_USER_INPUT",
      `batchIds: the batches of model ${mixed[0]} have ${mixed[1].size} different configurations (${listing}); results of different configurations are not averaged unless poolConfigurations is true`,
      { configurations: [...mixed[1]] },
    );
  }
  return { batchIds: ids, configHash: null, pool };
}

/** The recognizers of `panelId` (null: no panel, every recognizer). */
export async function resolvePanel(panels: PanelService, ctx: RequestContext | PartnerContext, args: PanelArgs): Promise<{ panelId: string | null; recognizerIds: string[] | null }> {
  if (!args.panelId) return { panelId: null, recognizerIds: null };
  // Panels are a group's own lists: a partner identity names none (requireRole refuses it).
  const panel = await panels.recognizers(requireRole(ctx, "READER"), args.panelId);
  return { panelId: panel.id, recognizerIds: panel.modelIds };
}
