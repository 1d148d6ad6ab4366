// runDemo: the paper's experiment (Feather et al. 2023) at MNIST scale, through the GraphQL API of any service.
// Registers the demo models, adds test digits as a stimulus set, synthesizes metamers of every model x stage x digit
// (null distributions and cross-model recognition follow as the service's own jobs), waits for them, and gathers the
// curves, the validation shares and the grid into a DemoResult (written as an HTML report when `out` is given).
// Rerunning reuses everything already there (models by sha256, the stimulus set by name, batches by idempotency key).
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { ApiError, type MetamersClient } from "../cli/client.js";
import {
  batchCounts,
  batchJobs,
  crossModel,
  curve,
  demoPanel,
  type DemoSource,
  ensureModel,
  ensureReferenceSet,
  ensureStimulusSet,
  type DemoNullSource,
  metamerViews,
  modelTrials,
  pairedTest,
  recognitionCounts,
  recognizeBacklog,
  startSynthesis,
  type DemoStimulus,
  type DigitFile,
  type JobView,
  type MetamerView,
  type RegisteredModel,
  type Schedule,
} from "./api.js";
import { digitPng, pickTestDigits, pickTrainDigits, readSplit } from "./digits.js";
import { evaluateFindings } from "./findings.js";
import { DEMO_MODELS_DIR, readManifest, REGIMES, selectModels, trainingEpsilon, type DemoModel } from "./manifest.js";
import { comparisonPlans, type MetamerTarget, pairedDifferences, perDigitRecognizability, type Trial } from "./paired.js";
import type { ProgressSink } from "./progress.js";
import { renderReport } from "./report.js";
import type { DemoModelResult, DemoResult, GridMetamer, PairedComparison } from "./result.js";

export interface DemoOptions {
  /** Folder with manifest.json, mnist-split.json and the ONNX files (default models/demo). */
  modelsDir?: string;
  /** Manifest model names to use, in this order (default: all, manifest order). */
  models?: string[];
  /** Stages per model, spread from the first to the final one (default: every stage). */
  stagesPerModel?: number;
  /** Test digits per class (default 10). */
  perClass?: number;
  /** Classes the digits are drawn from (default: every class label of the manifest). */
  classes?: string[];
  /** Digits per class shown in the report's grid (default 1). */
  shown?: number;
  /** Gradient-descent schedule (default 8 rounds x 150 steps; the paper's is 8 x 3000). */
  schedule?: Schedule;
  /** Where to write the HTML report; undefined writes none. */
  out?: string;
  /** Progress of each phase (default: none). */
  progress?: ProgressSink;
  /** Milliseconds between polls of the service while jobs run (default 2000). */
  pollMs?: number;
  /**
   * How long recognition may go without a new judgement once synthesis is done (default 30 min): a slow machine only
   * makes it longer, a stuck one fails (a rerun that recomputes a whole data dir's recognitions may take hours).
   */
  recognitionTimeoutMs?: number;
  /**
   * How long recognition may make no progress, once synthesis is done and some are missing, before the demo asks every
   * model to classify its backlog (default 60 s): a data dir whose recognitions were dropped has no jobs left to make them.
   */
  backlogAfterMs?: number;
  /**
   * The reference null the certificates use: training digits per class of the reference set (default all: 8,000) and
   * pairs (default 100,000). `false`: the per-set null of the test digits (underpowered, as before issue 12).
   */
  reference?: { perClass?: number; pairs?: number } | false;
}

export interface DemoRun {
  result: DemoResult;
  /** The registered models, by demo name. */
  models: Record<string, RegisteredModel>;
  stimulusSetId: string;
  /** The synthesis batch of each model, by demo name (a rerun finds the same ids). */
  batches: Record<string, string>;
  /** The report file, when `out` was given. */
  reportPath: string | null;
}

const DEFAULT_SCHEDULE: Schedule = { rounds: 8, stepsPerRound: 150 };

const positiveInt = (name: string, v: number) => {
  if (!Number.isInteger(v) || v < 1) throw new ApiError(`${name}: expected a positive integer, got ${v}`, "BAD_USER_INPUT");
  return v;
};

const shortHash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/** The stimulus set's name: the one earlier demos used when every class is in, the classes named otherwise. */
export function demoSetName(perClass: number, classes: string[], allClasses: string[]): string {
  const base = `demo: MNIST test digits, ${perClass} per class`;
  return classes.length === allClasses.length ? base : `${base} of ${classes.join(",")}`;
}

/**
 * The batch's idempotency key: model file, stimuli and schedule, plus the stages when the run uses only some (so a
 * full run keeps the key earlier demos used and finds their batches).
 */
export function batchKey(model: DemoModel, sha256: string, stimuli: DemoStimulus[], schedule: Schedule): string {
  const base = `demo:${sha256.slice(0, 16)}:${shortHash(stimuli.map((s) => s.id).join(","))}:${schedule.rounds}x${schedule.stepsPerRound}`;
  return model.allStages ? base : `${base}:${shortHash(Object.values(model.stages).join(","))}`;
}

/** The run's digits: the first `perClass` test digits of each chosen class, class by class, as PNGs. */
async function demoDigits(modelsDir: string, perClass: number, classes: string[]): Promise<DigitFile[]> {
  const picked = pickTestDigits(readSplit(modelsDir), perClass).filter((d) => classes.includes(d.label));
  return Promise.all(picked.map(async (d) => ({ label: d.label, index: d.index, png: await digitPng(d.pixels) })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(options: DemoOptions, client: MetamersClient): Promise<DemoRun> {
  const t0 = performance.now();
  const modelsDir = options.modelsDir ?? DEMO_MODELS_DIR;
  const manifest = readManifest(modelsDir);
  const chosen = selectModels(manifest, options.models, options.stagesPerModel);
  const perClass = positiveInt("perClass", options.perClass ?? 10);
  const shown = positiveInt("shown", options.shown ?? 1);
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  positiveInt("schedule.rounds", schedule.rounds);
  positiveInt("schedule.stepsPerRound", schedule.stepsPerRound);
  const classes = options.classes ?? manifest.classLabels;
  const badClasses = classes.filter((c) => !manifest.classLabels.includes(c));
  if (classes.length === 0 || badClasses.length) {
    throw new ApiError(`classes: expected labels from ${manifest.classLabels.join(",")}, got [${classes.join(",")}]`, "BAD_USER_INPUT");
  }
  const progress = options.progress ?? (() => {});
  const pollMs = options.pollMs ?? 2000;

  const digits = await demoDigits(modelsDir, perClass, classes);
  const models = await registerAll(client, chosen, modelsDir, manifest.classLabels, manifest.input.range, progress);
  const { setId, stimuli } = await ensureStimulusSet(client, demoSetName(perClass, classes, manifest.classLabels), manifest.classLabels, digits, models.get(chosen[0].name)!.id);

  const nullSource = await referenceNullSource(client, modelsDir, options.reference, manifest.classLabels, models.get(chosen[0].name)!.id, progress);

  // One batch per model (every chosen stage x every digit); the idempotency key makes a rerun find the same batch.
  const batches = new Map<string, string>();
  for (const m of chosen) {
    const model = models.get(m.name)!;
    const key = batchKey(m, model.sha256, stimuli, schedule) + (nullSource ? `-ref${nullSource.n}-${nullSource.setId.slice(0, 8)}` : "");
    batches.set(m.name, await startSynthesis(client, model.id, Object.keys(m.stages), stimuli.map((s) => s.id), schedule, key, nullSource));
  }
  const totalJobs = chosen.reduce((acc, m) => acc + Object.keys(m.stages).length * stimuli.length, 0);
  await waitForSynthesis(client, [...batches.values()], totalJobs, `synthesizing ${schedule.rounds}x${schedule.stepsPerRound}`, { progress, pollMs, t0 });

  const jobsByModel = new Map<string, JobView[]>();
  for (const m of chosen) jobsByModel.set(m.name, await batchJobs(client, batches.get(m.name)!));
  const metamers = await metamerViews(client, [...jobsByModel.values()].flat().flatMap((j) => (j.metamer ? [j.metamer.id] : [])));
  const passed = (j: JobView) => (j.metamer ? metamers.get(j.metamer.id)?.passed ?? false : false);
  await waitForRecognition(client, chosen, models, jobsByModel, passed, batches, {
    progress, pollMs, timeoutMs: options.recognitionTimeoutMs ?? 30 * 60_000, backlogAfterMs: options.backlogAfterMs ?? 60_000,
  });

  const names = chosen.map((m) => m.name);
  // An explicit panel of the demo's models and this run's batches: nothing else in the group changes the results.
  const source: DemoSource = { batchIds: [...batches.values()], panelId: await demoPanel(client, names.map((n) => models.get(n)!.id)) };
  const matrix = await crossModel(client, names, names.map((n) => models.get(n)!.id), source);
  const shownDigits = digits.filter((_, k) => k % perClass < shown);
  const results: DemoModelResult[] = [];
  for (const m of chosen) {
    const grid = await gridOf(client, m, jobsByModel.get(m.name)!, metamers, shownDigits.map((d) => stimuli[digits.indexOf(d)].id));
    results.push(await modelResult(client, m, models.get(m.name)!, jobsByModel.get(m.name)!, passed, grid, source));
  }
  progress({ phase: "paired comparisons", done: 0, total: 1 });
  const comparisons = await compareAll(client, chosen, models, jobsByModel, passed, batches, stimuli.map((s) => s.id));
  progress({ phase: "paired comparisons", done: 1, total: 1, finished: true });

  const result: DemoResult = {
    title: "Metamer Hub demo: model metamers of MNIST classifiers",
    createdAt: new Date().toISOString(),
    serviceUrl: client.url,
    schedule,
    elapsedSeconds: (performance.now() - t0) / 1000,
    classLabels: manifest.classLabels,
    digits: shownDigits.map((d) => ({ label: d.label, png: d.png.toString("base64") })),
    models: results,
    crossModel: matrix,
    comparisons,
    findings: evaluateFindings(results, comparisons),
  };
  if (options.out) await writeFile(options.out, renderReport(result));
  return {
    result,
    models: Object.fromEntries(models),
    stimulusSetId: setId,
    batches: Object.fromEntries(batches),
    reportPath: options.out ?? null,
  };
}

/**
 * The demo's reference set (the split's training digits, uploaded once) and the null source every batch names: the
 * models' reference nulls of n pairs are computed by the service as jobs before the synthesis jobs that need them.
 */
async function referenceNullSource(
  client: MetamersClient,
  modelsDir: string,
  reference: DemoOptions["reference"],
  classLabels: string[],
  anyModelId: string,
  progress: ProgressSink,
): Promise<DemoNullSource | null> {
  if (reference === false) return null;
  const perClass = reference?.perClass === undefined ? undefined : positiveInt("reference.perClass", reference.perClass);
  const pairs = positiveInt("reference.pairs", reference?.pairs ?? 100_000);
  const phase = "uploading the reference set (training digits)";
  const train = pickTrainDigits(readSplit(modelsDir), perClass);
  progress({ phase, done: 0, total: train.length });
  const files = await Promise.all(train.map(async (d) => ({ label: d.label, index: d.index, png: await digitPng(d.pixels) })));
  const setId = await ensureReferenceSet(client, `mnist-train-reference-${perClass ?? "all"}`, classLabels, files, anyModelId);
  progress({ phase, done: train.length, total: train.length, finished: true });
  return { setId, n: pairs };
}

async function registerAll(client: MetamersClient, chosen: DemoModel[], modelsDir: string, classLabels: string[], inputRange: [number, number], progress: ProgressSink) {
  const models = new Map<string, RegisteredModel>();
  const phase = "registering models";
  for (const [i, m] of chosen.entries()) {
    models.set(m.name, await ensureModel(client, m, modelsDir, classLabels, inputRange));
    progress({ phase, done: i + 1, total: chosen.length, detail: m.name });
  }
  progress({ phase, done: chosen.length, total: chosen.length, finished: true });
  return models;
}

async function waitForSynthesis(client: MetamersClient, batchIds: string[], totalJobs: number, phase: string, o: { progress: ProgressSink; pollMs: number; t0: number }) {
  for (;;) {
    let done = 0;
    let failed = 0;
    let running = 0;
    for (const id of batchIds) {
      const c = await batchCounts(client, id);
      done += c.succeeded + c.failed + c.cancelled;
      failed += c.failed;
      running += c.running;
    }
    const elapsed = (performance.now() - o.t0) / 1000;
    o.progress({ phase, done, total: totalJobs, detail: `${running} running, ${failed} failed, ${elapsed.toFixed(0)} s` });
    if (done >= totalJobs) break;
    await sleep(o.pollMs);
  }
  o.progress({ phase, done: totalJobs, total: totalJobs, finished: true });
}

/**
 * Every model classifies every validated metamer of this run and the digits they came from (RECOGNITION jobs the
 * service enqueues as metamers finish). Waits for exactly that many judgements, counted in this run's batches only:
 * per generator, per recognizer of the panel (the generator too), each stage's validated metamers and the natural
 * digits behind them. When judgements are missing and none arrive for `backlogAfterMs` (a data dir made by an older
 * version, whose recognitions were dropped for recomputation: no job will make them), asks each model to classify its
 * backlog once and waits for the missing ones.
 */
async function waitForRecognition(
  client: MetamersClient,
  chosen: DemoModel[],
  models: Map<string, RegisteredModel>,
  jobsByModel: Map<string, JobView[]>,
  passed: (j: JobView) => boolean,
  batches: Map<string, string>,
  o: { progress: ProgressSink; pollMs: number; timeoutMs: number; backlogAfterMs: number },
) {
  const ids = chosen.map((m) => models.get(m.name)!.id);
  const expected = chosen.map((m) => expectedJudgements(m, jobsByModel.get(m.name)!, passed));
  const total = expected.reduce((acc, e) => acc + [...e.values()].reduce((a, b) => a + b, 0), 0) * ids.length;
  const phase = "cross-model recognition";
  let last = -1;
  let lastChange = performance.now();
  let askedBacklog = false;
  for (;;) {
    let judged = 0;
    for (const [g, m] of chosen.entries()) {
      const counts = await recognitionCounts(client, models.get(m.name)!.id, ids, [batches.get(m.name)!]);
      for (const byStage of counts.values()) for (const [key, want] of expected[g]) judged += Math.min(byStage.get(key) ?? 0, want);
    }
    if (judged !== last) [last, lastChange] = [judged, performance.now()];
    o.progress({ phase, done: judged, total, detail: askedBacklog ? "backlog requested" : undefined });
    if (judged >= total) break;
    if (!askedBacklog && performance.now() - lastChange > o.backlogAfterMs) {
      o.progress({ phase, done: judged, total, detail: `${total - judged} missing and none arriving: asking every model to classify its backlog` });
      for (const id of ids) await recognizeBacklog(client, id);
      askedBacklog = true;
    }
    if (performance.now() - lastChange > o.timeoutMs) {
      throw new ApiError(`recognition did not finish: ${judged} of ${total} judgements, none new for ${(o.timeoutMs / 1000).toFixed(0)} s`, "TIMEOUT");
    }
    await sleep(o.pollMs);
  }
  o.progress({ phase, done: total, total, finished: true });
}

/**
 * Judgements each recognizer owes one generator's run: per stage (tensor name) its validated metamers, and for
 * "natural" the digits with at least one validated metamer (the curve's natural point).
 */
export function expectedJudgements(m: DemoModel, jobs: JobView[], passed: (j: JobView) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const tensor of Object.values(m.stages)) out.set(tensor, jobs.filter((j) => j.stage === tensor && passed(j)).length);
  out.set("natural", new Set(jobs.filter(passed).map((j) => j.stimulus?.id)).size);
  return out;
}

/**
 * The run's paired comparisons (paired.ts): per comparison, per digit the share of the judging models that got A's
 * and B's metamer right, and the service's sign-flip test and bootstrap CI of the mean difference. Seed 0 throughout.
 */
async function compareAll(
  client: MetamersClient,
  chosen: DemoModel[],
  models: Map<string, RegisteredModel>,
  jobsByModel: Map<string, JobView[]>,
  passed: (j: JobView) => boolean,
  batches: Map<string, string>,
  digitOrder: string[],
): Promise<PairedComparison[]> {
  const plans = comparisonPlans(chosen.map((m) => ({
    name: m.name, regime: REGIMES[m.entry.trainingRegime], architecture: m.entry.architectureDescription, stages: Object.keys(m.stages),
  })));
  const idOf = (name: string) => models.get(name)!.id;
  const trials = new Map<string, Trial[]>();
  const targets = new Map<string, Map<string, MetamerTarget>>();
  for (const name of new Set(plans.flatMap((p) => [p.a.model, p.b.model]))) {
    const m = chosen.find((x) => x.name === name)!;
    trials.set(name, await modelTrials(client, idOf(name), [batches.get(name)!]));
    const t = new Map<string, MetamerTarget>();
    for (const j of jobsByModel.get(name)!) if (j.metamer && j.stimulus && passed(j)) t.set(j.metamer.id, { stimulusId: j.stimulus.id, stage: stageOf(m, j) });
    targets.set(name, t);
  }
  const out: PairedComparison[] = [];
  for (const plan of plans) {
    const judges = plan.recognizers.map(idOf);
    const side = (s: { model: string; stage: string }) => perDigitRecognizability(trials.get(s.model)!, targets.get(s.model)!, judges).get(s.stage);
    const differences = pairedDifferences(side(plan.a), side(plan.b), digitOrder);
    out.push({ ...plan, test: differences.length ? await pairedTest(client, differences) : null });
  }
  return out;
}

/** The stage label of a job (the API answers tensor names or labels). */
const stageOf = (m: DemoModel, job: JobView) =>
  Object.entries(m.stages).find(([label, tensor]) => job.stage === label || job.stage === tensor)?.[0] ?? job.stage;

/** The grid's metamers of one model: each shown digit (by stimulus id, in column order) at each stage. */
async function gridOf(client: MetamersClient, m: DemoModel, jobs: JobView[], metamers: Map<string, MetamerView>, shownStimulusIds: string[]): Promise<GridMetamer[]> {
  const grid: GridMetamer[] = [];
  for (const [column, stimulusId] of shownStimulusIds.entries()) {
    for (const stage of Object.keys(m.stages)) {
      const job = jobs.find((j) => j.stimulus?.id === stimulusId && stageOf(m, j) === stage);
      const view = job?.metamer ? metamers.get(job.metamer.id) : undefined;
      if (!view) continue;
      const png = await client.download(view.renderingUrl);
      grid.push({ stage, digit: column, png: png.toString("base64"), passed: view.passed });
    }
  }
  return grid;
}

async function modelResult(
  client: MetamersClient,
  m: DemoModel,
  model: RegisteredModel,
  jobs: JobView[],
  passed: (j: JobView) => boolean,
  grid: GridMetamer[],
  source: DemoSource,
): Promise<DemoModelResult> {
  const stageLabels = Object.keys(m.stages);
  // Validated metamers of this run behind each point; natural: the digits they came from.
  const validated = jobs.filter(passed);
  const validatedN = (stage: string) =>
    stage === "natural" ? new Set(validated.map((j) => j.stimulus?.id)).size : validated.filter((j) => stageOf(m, j) === stage).length;
  return {
    name: m.name,
    description: m.entry.architectureDescription,
    regime: REGIMES[m.entry.trainingRegime],
    epsilon: trainingEpsilon(m.entry),
    cleanAccuracy: m.entry.cleanTestAccuracy,
    robustAccuracy: m.entry.robustTestAccuracy?.accuracy ?? null,
    stages: stageLabels,
    generatorCurve: await curve(client, model.id, "GENERATOR", m.entry.stages, source, validatedN),
    otherModelsCurve: await curve(client, model.id, "OTHER_MODELS", m.entry.stages, source, validatedN),
    validation: stageLabels.map((stage) => {
      const js = jobs.filter((j) => stageOf(m, j) === stage);
      return { stage, passed: js.filter(passed).length, total: js.length };
    }),
    metamers: grid,
  };
}
