import { AppError } from "../errors.js";
import type { BatchRecord, JobCounts } from "../store/jobs.js";
import type { BatchListFilter, ListOrder, MetamerListFilter } from "../store/listing.js";
import type { Page } from "../store/pagination.js";
import type { Store } from "../store/store.js";
import { type Caller, requireReader } from "./authorization.js";
import { DEFAULT_PAGE } from "./inputs.js";
import { checkCount } from "./limits.js";
import { findStage } from "./stages.js";
import type { MetamerView } from "./views.js";

/**
 * Finding one's metamers and batches (issue 13 item 1): Relay pages of `metamers(filter)` and
 * `synthesisBatches(filter)`. One filter grammar for every list (README "Listing and filtering"): the fields given
 * are ANDed; a list field (`modelIds`, `stages`, ...) matches any of its values; `createdAfter` (inclusive) and
 * `createdBefore` (exclusive) bound the creation time. Stages are tensor names or labels of the filter's models.
 */

/** Values one list field of a filter may hold. */
export const MAX_FILTER_VALUES = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type MetamerFilterInput = Omit<MetamerListFilter, "stages"> & { stages?: string[] | null };
export interface ListArgs {
  first?: number | null;
  after?: string | null;
  order?: ListOrder | null;
}

/** A list field of a filter: 1-100 values (null: no filter), each checked by `check`. */
export function checkList<T>(argument: string, values: T[] | null | undefined, check?: (v: T, i: number) => void): T[] | null {
  if (values == null) return null;
  if (values.length === 0) throw new AppError("BAD_USER_INPUT", `${argument}: expected at least one value (or leave the field out), got an empty list`);
  if (values.length > MAX_FILTER_VALUES) throw new AppError("BAD_USER_INPUT", `${argument}: at most ${MAX_FILTER_VALUES} values, got ${values.length}`);
  values.forEach((v, i) => check?.(v, i));
  return values;
}

const uuids = (argument: string, values: string[] | null | undefined) =>
  checkList(argument, values, (v, i) => {
    if (!UUID.test(v)) throw new AppError("BAD_USER_INPUT", `${argument}[${i}]: expected an id (a UUID), got '${v}'`);
  });

function checkRange(f: { createdAfter?: Date | null; createdBefore?: Date | null }) {
  if (f.createdAfter && f.createdBefore && f.createdAfter >= f.createdBefore) {
    throw new AppError("BAD_USER_INPUT", `filter.createdBefore: expected a time after createdAfter (${f.createdAfter.toISOString()}), got ${f.createdBefore.toISOString()}`);
  }
}

export class ListingService {
  constructor(private readonly store: Store) {}

  private page(args: ListArgs) {
    return { first: checkCount("first", args.first ?? DEFAULT_PAGE, "pageFirst"), after: args.after ?? null, order: args.order ?? "NEWEST_FIRST" };
  }

  async metamers(caller: Caller, filter: MetamerFilterInput | null | undefined, args: ListArgs): Promise<Page<MetamerView>> {
    const viewer = requireReader(caller);
    const f = filter ?? {};
    const modelIds = uuids("filter.modelIds", f.modelIds);
    let stages: string[] | null = null;
    if (f.stages) {
      checkList("filter.stages", f.stages);
      if (!modelIds) throw new AppError("BAD_USER_INPUT", "filter.stages: stages are tensor names or labels of a model, so give filter.modelIds too");
      // Each stage must name a stage of at least one of the models (a label can name different tensors in each).
      // Only models the caller sees: another group's stage names must not leak through an error message.
      const visible = [...(await this.store.metrics.visibleIds(viewer, modelIds))];
      const layers = await this.store.metrics.layersOf(visible);
      const models = await this.store.metrics.stageLabelMaps(visible);
      const tensors = new Set<string>();
      for (const [i, stage] of f.stages.entries()) {
        let found = false;
        let firstError: unknown = null;
        for (const id of visible) {
          const model = models.get(id);
          if (!model) continue;
          try {
            tensors.add(findStage(model, layers.get(id) ?? [], stage, `filter.stages[${i}]`, { final: true }).stage);
            found = true;
          } catch (e) {
            firstError ??= e;
          }
        }
        if (!found) throw firstError ?? new AppError("BAD_USER_INPUT", `filter.stages[${i}]: no model of filter.modelIds is visible to this caller`);
      }
      stages = [...tensors];
    }
    checkRange(f);
    const seeds = checkList("filter.seeds", f.seeds);
    return this.store.listing.metamers(
      viewer,
      {
        modelIds,
        stages,
        stimulusSetIds: uuids("filter.stimulusSetIds", f.stimulusSetIds),
        batchIds: uuids("filter.batchIds", f.batchIds),
        labels: checkList("filter.labels", f.labels),
        passed: f.passed ?? null,
        seeds,
        configHashes: checkList("filter.configHashes", f.configHashes),
        createdAfter: f.createdAfter ?? null,
        createdBefore: f.createdBefore ?? null,
      },
      this.page(args),
    );
  }

  async batches(caller: Caller, filter: BatchListFilter | null | undefined, args: ListArgs): Promise<Page<BatchRecord & { counts: JobCounts }>> {
    const viewer = requireReader(caller);
    const f = filter ?? {};
    checkRange(f);
    const page = await this.store.listing.batches(
      viewer,
      {
        modelIds: uuids("filter.modelIds", f.modelIds),
        configHashes: checkList("filter.configHashes", f.configHashes),
        cancelled: f.cancelled ?? null,
        archived: f.archived ?? null,
        createdAfter: f.createdAfter ?? null,
        createdBefore: f.createdBefore ?? null,
      },
      this.page(args),
    );
    const counts = await this.store.listing.countsByBatches(page.items.map((b) => b.id));
    return { ...page, items: page.items.map((b) => ({ ...b, counts: counts.get(b.id)! })) };
  }
}
