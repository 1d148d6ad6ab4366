import { DEFAULT_BOOTSTRAP, DEFAULT_PERMUTATIONS, mean, sem } from "../../engine/index.js";
import { AppError } from "../../errors.js";
import type { Modality } from "../../store/enums.js";
import type { ModelRecord } from "../../store/models.js";
import type { ConfigSelection } from "../../store/metrics.js";
import type { Store } from "../../store/store.js";
import { type Caller, type PartnerContext, type RequestContext, requireReaderContext, statsOwner, viewerOf } from "../authorization.js";
import { checkCount } from "../limits.js";
import { PanelService } from "../panels.js";
import { findStage, resolveStage, stageLabelsOf } from "../stages.js";
import { inlineStatsRunner, type StatsRunner } from "../stats-pool.js";
import { type ExportTable, exportTable } from "./export.js";
import { type PanelArgs, resolvePanel, resolveSelection, type SelectionArgs } from "./selection.js";
import { completeSubjects, subjectTable } from "./subjects.js";
import type {
  BootstrapArgs,
  CurveArgs,
  CurvePoint,
  Idiosyncrasy,
  IdiosyncrasyArgs,
  MatrixArgs,
  MatrixCellResult,
  Observer,
  PermutationTestSummary,
  Recognizability,
} from "./types.js";

/**
 * Recognizability metrics (docs/science.md §4), with the paper's conventions:
 * - HUMAN: per-participant proportion correct, pooled over every experiment that showed the model's metamers; mean
 *   and SEM (sample std / sqrt n) over participants; CI by bootstrap over participants.
 * - GENERATOR / MODEL: one model's accuracy over the generator's validated metamers; CI and SEM by bootstrap over
 *   metamers (the paper: 1,000 resamples).
 * - OTHER_MODELS: the unweighted mean over every recognizer other than the generator of its accuracy; n is the
 *   number of recognizers; the bootstrap resamples metamers (jointly across recognizers when they saw the same
 *   metamers, which is the case for the released data and for computed recognitions).
 * Aggregates come from SQL (MetricsStore); resampling and permutation tests run on the rows returned, in the
 * statistics threads (`stats`: the app's StatsPool), so that a long one never holds the event loop.
 */

export const DEFAULT_EXCLUDED_STAGES = ["natural_*", "input_after_preproc"];

/** `natural_*` style patterns to SQL LIKE: `*` is any run of characters; `%`, `_` and `\` are literal. */
export function globToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isNatural = (stage: string) => stage.startsWith("natural");

export class MetricsService {
  /** `stats`: the app passes its StatsPool; scripts and tests may leave it out to compute on the calling thread. */
  constructor(
    private readonly store: Store,
    private readonly stats: StatsRunner = inlineStatsRunner,
    private readonly panels: PanelService = new PanelService(store),
  ) {}

  /** A bulk table for GET /export/<name>.csv (schemas in EXPORT_TABLES). */
  exportTable(caller: Caller, name: string, params: URLSearchParams): Promise<ExportTable> {
    return exportTable(this, this.store, caller, name, params);
  }

  private async visibleModel(ctx: RequestContext | PartnerContext, id: string, argument: string): Promise<ModelRecord> {
    if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `${argument}: expected a model id (a UUID), got '${id}'`);
    const model = await this.store.models.findVisible(viewerOf(ctx), id);
    if (!model) throw new AppError("NOT_FOUND", `${argument}: no model with id '${id}' is visible to this group`);
    return model;
  }

  /** The configurations and recognizers a query reads (selection.ts). */
  private async sources(ctx: RequestContext | PartnerContext, args: SelectionArgs & PanelArgs): Promise<{ sel: ConfigSelection; panelId: string | null; panel: string[] | null }> {
    const sel = await resolveSelection(this.store, ctx, args);
    const { panelId, recognizerIds } = await resolvePanel(this.panels, ctx, args);
    return { sel, panelId, panel: recognizerIds };
  }

  async recognizability(
    caller: Caller,
    args: { modelId: string; stage: string; observer: Observer; recognizerId?: string | null } & BootstrapArgs & SelectionArgs & PanelArgs,
  ): Promise<Recognizability> {
    const ctx = requireReaderContext(caller);
    const { seed, resamples } = checkBootstrapArgs(args);
    const model = await this.visibleModel(ctx, args.modelId, "modelId");
    const { stage, stageLabel } = await resolveStage(this.store, model, args.stage, "stage", { final: true, natural: true });
    const { sel, panelId, panel } = await this.sources(ctx, args);
    const none = { configHashes: [], recognizerIds: [], recognizerCount: 0, panelId };
    const base = { modelId: model.id, stage, stageLabel, observer: args.observer, bootstrap: { seed, resamples } };

    if (args.observer === "HUMAN") {
      const values = await this.store.metrics.participantValues(model.id, stage, "HUMAN");
      if (values.length === 0) return { ...base, ...none, mean: null, sem: null, ci95: null, n: 0, metamers: null };
      const ci = await this.stats.run("bootstrapMean", { values: Float64Array.from(values), seed, resamples }, statsOwner(ctx));
      return { ...base, ...none, mean: mean(values), sem: values.length > 1 ? sem(values) : null, ci95: { low: ci.low, high: ci.high }, n: values.length, metamers: null };
    }

    let recognizers = await this.store.metrics.recognizerFlags(viewerOf(ctx), model.id, stage, sel);
    if (args.observer === "GENERATOR") {
      recognizers = recognizers.filter((r) => r.recognizerId === model.id);
    } else if (args.observer === "MODEL") {
      if (!args.recognizerId) throw new AppError("BAD_USER_INPUT", "recognizerId: required when observer is MODEL, got nothing");
      await this.visibleModel(ctx, args.recognizerId, "recognizerId");
      recognizers = recognizers.filter((r) => r.recognizerId === args.recognizerId);
    } else {
      recognizers = recognizers.filter((r) => r.recognizerId !== model.id && r.flags.length > 0 && (!panel || panel.includes(r.recognizerId)));
    }
    if (recognizers.length === 0) return { ...base, ...none, mean: null, sem: null, ci95: null, n: 0, metamers: null };
    const result = await this.stats.run("bootstrapRecognizers", { flags: recognizers.map((r) => r.flags), seed, resamples }, statsOwner(ctx));
    const single = args.observer !== "OTHER_MODELS";
    return {
      ...base,
      mean: result.estimate,
      sem: result.se,
      ci95: { low: result.low, high: result.high },
      n: single ? recognizers[0].flags.length : recognizers.length,
      metamers: Math.max(...recognizers.map((r) => r.flags.length)),
      ...provenance(recognizers, panelId),
    };
  }

  /**
   * One point per stage in network order, natural stimuli first. HUMAN: mean and SEM over participants (SQL).
   * Model observers: accuracy per stage; SEM is the binomial standard error for one recognizer and the standard
   * error across recognizers for OTHER_MODELS. Each point names its configurations and recognizers.
   */
  async recognizabilityCurve(caller: Caller, args: CurveArgs): Promise<CurvePoint[]> {
    const ctx = requireReaderContext(caller);
    const model = await this.visibleModel(ctx, args.modelId, "modelId");
    const { sel, panelId, panel } = await this.sources(ctx, args);
    if (args.observer === "HUMAN") {
      const points = await this.store.metrics.participantCurve(model.id, "HUMAN");
      const labels = await stageLabelsOf(this.store, model.id);
      return points.map((p) => ({
        ...p, natural: isNatural(p.stage), stageLabel: labels.get(p.stage) ?? null, configHashes: [], recognizerIds: [], recognizerCount: 0, panelId,
      }));
    }
    if (args.observer === "MODEL") {
      if (!args.recognizerId) throw new AppError("BAD_USER_INPUT", "recognizerId: required when observer is MODEL, got nothing");
      await this.visibleModel(ctx, args.recognizerId, "recognizerId");
    }
    const rows = await this.store.metrics.recognizerAccuracyByStage(viewerOf(ctx), model.id, sel);
    const wanted = rows.filter((r) =>
      args.observer === "GENERATOR" ? r.recognizerId === model.id
        : args.observer === "MODEL" ? r.recognizerId === args.recognizerId
          : r.recognizerId !== model.id && r.n > 0 && (!panel || panel.includes(r.recognizerId)),
    );
    const byStage = new Map<string, typeof wanted>();
    for (const r of wanted) (byStage.get(r.stage) ?? byStage.set(r.stage, []).get(r.stage)!).push(r);
    return [...byStage.entries()].map(([stage, cells]) => {
      const { order, stageLabel } = cells[0];
      const common = { stage, stageLabel, order, natural: isNatural(stage), ...provenance(cells, panelId) };
      if (args.observer === "OTHER_MODELS") {
        const accuracies = cells.map((c) => c.nCorrect / c.n);
        return { ...common, mean: mean(accuracies), sem: accuracies.length > 1 ? sem(accuracies) : null, n: accuracies.length };
      }
      const n = cells.reduce((a, c) => a + c.n, 0);
      const p = cells.reduce((a, c) => a + c.nCorrect, 0) / n;
      return { ...common, mean: p, sem: Math.sqrt((p * (1 - p)) / n), n };
    });
  }

  /**
   * Accuracy of every recognizer on every generator's metamers at one stage (FINAL: each generator's own last
   * stage; a label is resolved per generator). Recognizers: `recognizerIds`, a panel, or every one with results.
   */
  async crossModelMatrix(caller: Caller, args: MatrixArgs): Promise<MatrixCellResult[]> {
    const ctx = requireReaderContext(caller);
    if (args.recognizerIds && args.panelId) {
      throw new AppError("BAD_USER_INPUT", "recognizerIds, panelId: give the recognizers or a panel, got both");
    }
    const lists = [["generatorIds", args.generatorIds], ...(args.recognizerIds ? [["recognizerIds", args.recognizerIds]] : [])] as [string, string[]][];
    for (const [argument, ids] of lists) {
      if (ids.length === 0) throw new AppError("BAD_USER_INPUT", `${argument}: expected at least one model id, got an empty list`);
      if (ids.length > 200) throw new AppError("BAD_USER_INPUT", `${argument}: at most 200 models per matrix, got ${ids.length}`);
    }
    const visible = await this.store.metrics.visibleIds(viewerOf(ctx), [...new Set(lists.flatMap(([, ids]) => ids))]);
    for (const [argument, ids] of lists) {
      ids.forEach((id, i) => {
        if (!visible.has(id)) throw new AppError("NOT_FOUND", `${argument}[${i}]: no model with id '${id}' is visible to this group`);
      });
    }
    const { sel, panel } = await this.sources(ctx, args);
    const recognizerIds = args.recognizerIds ?? panel;
    let stages: (string | null)[] = args.generatorIds.map(() => null);
    if (args.stage && args.stage.toUpperCase() !== "FINAL") {
      // A label may name different tensors in different generators: resolve it per generator (one query for all).
      const layers = await this.store.metrics.layersOf(args.generatorIds);
      const models = await this.store.metrics.stageLabelMaps(args.generatorIds);
      stages = args.generatorIds.map((id, i) => findStage(models.get(id)!, layers.get(id) ?? [], args.stage!, `stage (generatorIds[${i}])`).stage);
    }
    const cells = await this.store.metrics.matrix(viewerOf(ctx), args.generatorIds, recognizerIds, stages, sel);
    return cells.map((c) => ({ ...c, accuracy: c.n > 0 ? c.nCorrect / c.n : Number.NaN }));
  }

  async idiosyncrasy(caller: Caller, args: IdiosyncrasyArgs): Promise<Idiosyncrasy> {
    const ctx = requireReaderContext(caller);
    const excludeStages = args.excludeStages ?? DEFAULT_EXCLUDED_STAGES;
    const { seed, resamples } = checkBootstrapArgs(args);
    if (args.studyId && !UUID.test(args.studyId)) throw new AppError("BAD_USER_INPUT", `studyId: expected a UUID, got '${args.studyId}'`);
    const { sel, panelId, panel } = await this.sources(ctx, args);
    const modality: Modality = args.modality === "AUDIO" ? "AUDIO" : "IMAGE";
    const rows = await this.store.metrics.idiosyncrasyPoints(viewerOf(ctx), modality, excludeStages.map(globToLike), args.studyId ?? null, sel, panel);
    if (rows.length < 3) {
      throw new AppError(
        "BAD_USER_INPUT",
        `modality: idiosyncrasy needs at least 3 (model, stage) points with both human and other-model data, found ${rows.length} for ${args.modality}; import a study (importFeather2023) first`,
      );
    }
    const human = Float64Array.from(rows, (r) => r.human);
    const other = Float64Array.from(rows, (r) => r.otherModels);
    const { spearmanRho, pearsonR: r, kendallTau, ci } = await this.stats.run("correlationBootstrap", { human, other, seed, resamples }, statsOwner(ctx));
    return {
      modality: args.modality,
      excludeStages,
      spearmanRho,
      pearsonR: r,
      r2: r * r,
      kendallTau,
      n: rows.length,
      ci95: { low: ci.low, high: ci.high },
      bootstrap: { seed, resamples },
      points: rows.map(({ modelId, model, stage, stageLabel, human: h, otherModels, recognizers, configHashes }) => ({
        modelId, model, stage, stageLabel, human: h, otherModels, recognizerCount: recognizers, configHashes,
      })),
      ...provenance(rows.flatMap((p) => p.recognizerIds.map((recognizerId) => ({ recognizerId, configHashes: p.configHashes }))), panelId),
    };
  }

  /**
   * Model A vs model B, by permutation ANOVA (model x stage) over participants' scores, on the metamer stages both
   * models have (natural stimuli excluded: they are the same condition for both). Participants are identified by
   * (experiment, participant): within one experiment every participant saw every condition (docs/science.md §4), so
   * when both models were shown in a shared experiment the design is repeated measures over those participants;
   * otherwise the participants differ and the design is mixed (model between, stage within).
   * observer HUMAN uses the participants' own scores; GENERATOR the generating models' scores on the same stimuli.
   */
  async compareRecognizability(
    caller: Caller,
    args: { modelA: string; modelB: string; observer: Observer; permutations?: number; seed?: number },
  ): Promise<PermutationTestSummary> {
    const ctx = requireReaderContext(caller);
    if (args.observer !== "HUMAN" && args.observer !== "GENERATOR") {
      throw new AppError("BAD_USER_INPUT", `observer: compareRecognizability works on per-participant scores, so it expects HUMAN or GENERATOR, got ${args.observer}`);
    }
    if (args.modelA === args.modelB) throw new AppError("BAD_USER_INPUT", `modelB: expected a model other than modelA, got the same id '${args.modelB}'`);
    const { permutations, seed } = checkPermutationArgs(args);
    const a = await this.visibleModel(ctx, args.modelA, "modelA");
    const b = await this.visibleModel(ctx, args.modelB, "modelB");
    const observer = args.observer === "HUMAN" ? "HUMAN" : "NETWORK";
    const rows = (await this.store.metrics.participantRows([a.id, b.id])).filter((r) => r.observer === observer && !isNatural(r.stage));
    const tables = [a, b].map((m) => subjectTable(rows.filter((r) => r.modelId === m.id)));
    const stages = tables[0].stages.filter((s) => tables[1].stages.includes(s));
    if (stages.length === 0) {
      throw new AppError("BAD_USER_INPUT", `modelB: '${a.name}' and '${b.name}' share no metamer stage with ${args.observer} scores (stages: ${tables[0].stages.join(", ") || "none"} vs ${tables[1].stages.join(", ") || "none"})`);
    }
    const complete = tables.map((t) => completeSubjects(t, stages));
    const shared = [...complete[0].keys()].filter((k) => complete[1].has(k));
    if (shared.length >= 2) {
      return this.pairedTest(ctx, shared.map((k) => [complete[0].get(k)!, complete[1].get(k)!]), stages, permutations, seed);
    }
    const groups = complete.map((m) => [...m.values()]);
    groups.forEach((g, i) => {
      if (g.length === 0) throw new AppError("BAD_USER_INPUT", `${i === 0 ? "modelA" : "modelB"}: no participant has ${args.observer} scores at every shared stage (${stages.join(", ")})`);
    });
    const result = await this.stats.run("permutationMixed", { groups, permutations, seed }, statsOwner(ctx));
    return { design: "MIXED", factor: result.a, stage: result.b, interaction: result.ab, stages, subjects: groups[0].length + groups[1].length, permutations, seed };
  }

  /** The repeated-measures permutation ANOVA on y[subject][factor level][stage], as the API reports it. */
  private async pairedTest(ctx: RequestContext | PartnerContext, y: number[][][], stages: string[], permutations: number, seed: number): Promise<PermutationTestSummary> {
    const result = await this.stats.run("permutationRepeatedMeasures", { y, permutations, seed }, statsOwner(ctx));
    return { design: "REPEATED_MEASURES", factor: result.a, stage: result.b, interaction: result.ab, stages, subjects: y.length, permutations, seed };
  }
}

/** The distinct configurations and recognizers of the rows that entered a result. */
function provenance(rows: { recognizerId: string; configHashes: string[] }[], panelId: string | null) {
  const recognizerIds = [...new Set(rows.map((r) => r.recognizerId))].sort();
  return { configHashes: [...new Set(rows.flatMap((r) => r.configHashes))].sort(), recognizerIds, recognizerCount: recognizerIds.length, panelId };
}

/** Resamples and seed within the limits table (services/limits.ts), defaults filled in. */
function checkBootstrapArgs(args: BootstrapArgs): { seed: number; resamples: number } {
  return {
    seed: checkCount("seed", args.seed ?? DEFAULT_BOOTSTRAP.seed, "seed"),
    resamples: checkCount("resamples", args.resamples ?? DEFAULT_BOOTSTRAP.resamples, "resamples"),
  };
}

function checkPermutationArgs(args: { permutations?: number; seed?: number }): { permutations: number; seed: number } {
  return {
    permutations: checkCount("permutations", args.permutations ?? DEFAULT_PERMUTATIONS, "permutations"),
    seed: checkCount("seed", args.seed ?? 0, "seed"),
  };
}
