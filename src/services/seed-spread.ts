import { float32FromBytes, mean, sampleStd } from "../engine/index.js";
import { AppError } from "../errors.js";
import type { SeedMetamerRow } from "../store/metamers.js";
import type { Store } from "../store/store.js";
import { requireReader, type Caller } from "./authorization.js";
import { checkCount } from "./limits.js";
import { isUuid } from "./stimuli.js";

/** Mean and sample standard deviation across a target's seeds (null below 2 values). */
export interface SpreadView {
  mean: number | null;
  std: number | null;
  n: number;
}

export interface TargetMetamerView {
  id: string;
  seed: number;
  passed: boolean;
  /** Other models' accuracy on this metamer (null before any recognized it). */
  recognizability: number | null;
}

/** The metamers of one target (stimulus, stage) across a batch's seeds, and how much they differ (issue 12 item 7). */
export interface MetamerTargetView {
  stimulusId: string;
  stage: string;
  stageLabel: string | null;
  metamers: TargetMetamerView[];
  /** Mean over seed pairs of the RMS difference of the metamers' input tensors (model-input units). */
  pixelDistance: number | null;
  /**
   * Spread across seeds of each metamer's match to the natural stimulus at the stage (the certificate's Spearman,
   * Pearson, SNR): how differently the seeds' metamers sit in activation space relative to the target.
   */
  spearman: SpreadView;
  pearson: SpreadView;
  snr: SpreadView;
  /** Across seeds of the other models' accuracy on each metamer. */
  recognizability: SpreadView;
}

const spread = (values: number[]): SpreadView => {
  const v = values.filter((x) => Number.isFinite(x));
  return { mean: v.length ? mean(v) : null, std: v.length > 1 ? sampleStd(v) : null, n: v.length };
};

/**
 * A batch's metamers grouped by target (stimulus, stage), seeds in order, with their spread; `first` targets
 * (bounded like a page) in (stimulus, stage) order.
 */
export async function metamerTargets(store: Store, caller: Caller, args: { batchId: string; first?: number | null }): Promise<MetamerTargetView[]> {
  const viewer = requireReader(caller);
  const first = checkCount("first", args.first ?? 50, "pageFirst");
  const batch = isUuid(args.batchId) ? await store.jobs.findVisibleBatch(viewer, args.batchId) : null;
  if (!batch) throw new AppError("NOT_FOUND", `batchId: no synthesis batch '${args.batchId}' visible to this group`);
  const model = await store.models.findById(batch.modelId);
  const labelOf = new Map(Object.entries(model?.stageLabels ?? {}).map(([label, tensor]) => [tensor, label]));
  const groups = new Map<string, SeedMetamerRow[]>();
  for (const row of await store.metamers.batchSeedRows(batch.id)) {
    const key = `${row.stimulusId}|${row.stage}`;
    if (!groups.has(key) && groups.size >= first) continue;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(row);
  }
  const out: MetamerTargetView[] = [];
  for (const rows of groups.values()) {
    const tensors: Float32Array[] = [];
    for (const r of rows) {
      const bytes = await store.blobs.get(r.tensorSha256);
      if (bytes) tensors.push(float32FromBytes(bytes));
    }
    const distances: number[] = [];
    for (let i = 0; i < tensors.length; i++) {
      for (let j = i + 1; j < tensors.length; j++) {
        let ss = 0;
        for (let k = 0; k < tensors[i].length; k++) ss += (tensors[i][k] - tensors[j][k]) ** 2;
        distances.push(Math.sqrt(ss / tensors[i].length));
      }
    }
    const metric = (m: string) => rows.map((r) => Number(r.similarity?.[m]));
    const recognizability = rows.map((r) => (r.recognitions > 0 ? r.correct / r.recognitions : null));
    out.push({
      stimulusId: rows[0].stimulusId,
      stage: rows[0].stage,
      stageLabel: labelOf.get(rows[0].stage) ?? null,
      metamers: rows.map((r, i) => ({ id: r.id, seed: r.seed, passed: r.passed, recognizability: recognizability[i] })),
      pixelDistance: distances.length ? mean(distances) : null,
      spearman: spread(metric("spearman")),
      pearson: spread(metric("pearson")),
      snr: spread(metric("snr")),
      recognizability: spread(recognizability.filter((v): v is number => v !== null)),
    });
  }
  return out;
}
