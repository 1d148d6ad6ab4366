import { AppError } from "../../errors.js";
import type { ExperimentRecord, ParticipantRecord } from "../../store/experiments.js";
import type { Store } from "../../store/store.js";
import { type Caller, requireRole } from "../authorization.js";
import { checkCount } from "../limits.js";
import { conditionKey, type DesignTiming, generateDesign, NATURAL, type SourceStimulus } from "./design.js";
import { resultTables, tablesAsCsv } from "./exports.js";
import { importDemographics, importResponses, type ImportOptions, type ImportSummary } from "./imports.js";
import { hashToken, newStimulusKey, newToken, type StoredDesign, type StoredTrial } from "./types.js";

/** What a lab sends to create an experiment; everything but the name, set, batches and participants has a default. */
export interface CreateExperimentInput {
  name: string;
  stimulusSetId: string;
  batchIds: string[];
  participants: number;
  /** Defaults to the stimulus set's modality; a different one is refused. */
  modality?: "IMAGE" | "AUDIO" | null;
  /** The answers offered; default: the set's class labels (or the label map's coarse labels). */
  responseOptions?: string[] | null;
  /** Stimulus label -> coarse response label (e.g. the 16 categories of the paper's ImageNet experiments). */
  labelMap?: Record<string, string> | null;
  timing?: Partial<DesignTiming> | null;
  practiceTrials?: number | null;
  demoTrials?: number | null;
  minDemoCorrect?: number | null;
  catchTrials?: number | null;
  catchThreshold?: number | null;
  headphoneTrials?: number | null;
  headphoneMinCorrect?: number | null;
  instructions?: string | null;
  consent?: string | null;
  completionUrl?: string | null;
  completionCode?: string | null;
  screenedOutUrl?: string | null;
  screenedOutCode?: string | null;
  seed?: number | null;
}

export interface ParticipantLink {
  participantId: string;
  label: string;
  /** The secret of the link: shown once, stored only as a hash. */
  token: string;
  url: string;
}

/** The paper's defaults (vision: 16-AFC, 300/300/300 ms, practice 500/400/400; audio: 2-s clips, headphone check). */
export const DEFAULTS = {
  IMAGE: {
    timing: { fixationMs: 300, stimulusMs: 300, maskMs: 300, practiceFixationMs: 500, practiceStimulusMs: 400, practiceMaskMs: 400 },
    practice: 16, demo: 12, minDemoCorrect: 7, catch: 16, headphone: 0, headphoneMinCorrect: 0,
    instructions: "On each trial an image appears briefly, followed by a noise mask. Choose the category the image belonged to.",
  },
  AUDIO: {
    timing: { fixationMs: 500, stimulusMs: 2000, maskMs: 0, practiceFixationMs: 500, practiceStimulusMs: 2000, practiceMaskMs: 0, clipMs: 2000 },
    practice: 0, demo: 22, minDemoCorrect: 5, catch: 16, headphone: 6, headphoneMinCorrect: 5,
    instructions: "On each trial you hear a 2-second clip. Type the word you heard and pick it from the suggestions.",
  },
} as const;
export const DEFAULT_CATCH_THRESHOLD = 0.75;
const DEFAULT_CONSENT = "By continuing you agree to take part in this study. Your answers are stored without your name.";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TEXT = 20_000;

function checkUrl(name: string, v: string | null | undefined): string | null {
  if (v === null || v === undefined || v === "") return null;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new AppError("BAD_USER_INPUT", `${name}: expected an absolute http(s) URL, got '${v.slice(0, 80)}'`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new AppError("BAD_USER_INPUT", `${name}: expected an http(s) URL, got the scheme '${url.protocol}'`);
  return url.toString();
}

function checkText(name: string, v: string | null | undefined, fallback: string | null, max = MAX_TEXT): string | null {
  if (v === null || v === undefined) return fallback;
  if (v.length > max) throw new AppError("BAD_USER_INPUT", `${name}: at most ${max} characters, got ${v.length}`);
  return v;
}

/** Experiments seen from the lab's side (API key): creating them, their design, participants and status. */
export class ExperimentService {
  constructor(
    private readonly store: Store,
    private readonly baseUrl: () => string = () => "",
  ) {}

  async create(caller: Caller, input: CreateExperimentInput): Promise<{ experiment: ExperimentRecord; participants: ParticipantRecord[]; links: ParticipantLink[]; entryUrl: string }> {
    const ctx = requireRole(caller, "MEMBER");
    const name = input.name?.trim() ?? "";
    if (name.length === 0 || name.length > 200) throw new AppError("BAD_USER_INPUT", `name: expected 1 to 200 characters, got ${name.length}`);
    if (!UUID.test(input.stimulusSetId)) throw new AppError("BAD_USER_INPUT", `stimulusSetId: expected a UUID, got '${input.stimulusSetId}'`);
    const set = await this.store.stimuli.findSet(ctx.groupId, input.stimulusSetId);
    if (!set) throw new AppError("NOT_FOUND", `stimulusSetId: no stimulus set with id '${input.stimulusSetId}' in this group`);
    const modality = input.modality ?? set.modality;
    if (modality !== set.modality) throw new AppError("BAD_USER_INPUT", `modality: the stimulus set is ${set.modality}, got ${modality}`);
    const d = DEFAULTS[modality];

    const batchIds = [...new Set(input.batchIds)];
    if (batchIds.length === 0 || batchIds.length > 500) throw new AppError("BAD_USER_INPUT", `batchIds: expected 1 to 500 synthesis batch ids, got ${batchIds.length}`);
    batchIds.forEach((id, i) => {
      if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `batchIds[${i}]: expected a UUID, got '${id}'`);
    });
    const found = new Set((await this.store.experiments.batches(ctx.groupId, batchIds)).map((b) => b.id));
    batchIds.forEach((id, i) => {
      if (!found.has(id)) throw new AppError("NOT_FOUND", `batchIds[${i}]: no synthesis batch with id '${id}' in this group`);
    });

    const setStimuli = await this.store.stimuli.allStimuli(set.id);
    const inSet = new Map(setStimuli.map((s) => [s.id, s]));
    const metamers = await this.store.experiments.batchMetamers(batchIds);
    const foreign = metamers.find((m) => !inSet.has(m.stimulusId));
    if (foreign) throw new AppError("BAD_USER_INPUT", `batchIds: metamer ${foreign.metamerId} was made from a stimulus of another set than '${set.name}'`);
    if (metamers.length === 0) throw new AppError("BAD_USER_INPUT", "batchIds: the batches have no finished metamers yet");
    const sourceIds = new Set(metamers.map((m) => m.stimulusId));
    const toSource = (s: { id: string; label: string }): SourceStimulus => ({ id: s.id, label: s.label });
    const stimuli = setStimuli.filter((s) => sourceIds.has(s.id)).map(toSource);
    const others = setStimuli.filter((s) => !sourceIds.has(s.id)).map(toSource);

    const practice = checkCount("practiceTrials", input.practiceTrials ?? d.practice, "experimentTrials");
    const demo = checkCount("demoTrials", input.demoTrials ?? d.demo, "experimentTrials");
    const catchTrials = checkCount("catchTrials", input.catchTrials ?? d.catch, "experimentTrials");
    const headphone = checkCount("headphoneTrials", input.headphoneTrials ?? d.headphone, "experimentTrials");
    const participants = checkCount("participants", input.participants, "experimentParticipants");
    const seed = checkCount("seed", input.seed ?? 0, "seed");
    const catchThreshold = input.catchThreshold ?? DEFAULT_CATCH_THRESHOLD;
    if (!(catchThreshold >= 0 && catchThreshold <= 1)) throw new AppError("BAD_USER_INPUT", `catchThreshold: expected a proportion from 0 to 1, got ${catchThreshold}`);
    // Practice, demo and catch trials use natural stimuli the main trials do not show, when the set has enough.
    const screeningPool = others.length >= practice + demo + catchTrials ? others : setStimuli.map(toSource);

    const labelMap = input.labelMap ?? null;
    const responseOptions =
      input.responseOptions ??
      (labelMap ? [...new Set(Object.values(labelMap))] : set.classLabels.length > 0 ? set.classLabels : [...new Set(setStimuli.map((s) => s.label))]);

    const stageOrder = await this.store.experiments.stageOrder([...new Set(metamers.map((m) => m.modelId))]);
    const conditions = [...new Map(metamers.map((m) => [conditionKey(m.modelId, m.stage), { modelId: m.modelId, stage: m.stage }])).values()].sort(
      (a, b) => a.modelId.localeCompare(b.modelId) || (stageOrder.get(conditionKey(a.modelId, a.stage)) ?? 0) - (stageOrder.get(conditionKey(b.modelId, b.stage)) ?? 0),
    );
    const timing: DesignTiming = { ...d.timing, ...(input.timing ?? {}) };
    if (modality === "AUDIO" && input.timing?.clipMs !== undefined && input.timing.stimulusMs === undefined) timing.stimulusMs = input.timing.clipMs;
    const screening = {
      demoTrials: demo,
      minCorrect: input.minDemoCorrect ?? Math.min(d.minDemoCorrect, demo),
      headphoneMinCorrect: input.headphoneMinCorrect ?? Math.min(d.headphoneMinCorrect, headphone),
    };
    const design = generateDesign({
      modality, seed, participants, stimuli, screeningPool, conditions, metamers, responseOptions, labelMap, timing,
      counts: { practice, demo, catch: catchTrials, headphone }, screening,
    });
    const stored: StoredDesign = {
      timing, responseOptions, labelMap,
      instructions: checkText("instructions", input.instructions, d.instructions)!,
      consent: checkText("consent", input.consent, DEFAULT_CONSENT)!,
      counts: { practice, demo, catch: catchTrials, headphone }, screening, catchThreshold,
      completion: {
        redirectUrl: checkUrl("completionUrl", input.completionUrl),
        code: checkText("completionCode", input.completionCode, null, 200),
        screenedOutRedirectUrl: checkUrl("screenedOutUrl", input.screenedOutUrl),
        screenedOutCode: checkText("screenedOutCode", input.screenedOutCode, null, 200),
      },
      conditions: design.conditions,
      mainTrials: design.mainTrials,
    };
    const tokens = design.trialLists.map(() => newToken());
    const entryKey = newToken();
    stored.entryKeyHash = hashToken(entryKey);
    const created = await this.store.transaction(
      async (tx) => {
        const result = await tx.experiments.create(
          { groupId: ctx.groupId, name, modality, design: stored as unknown as Record<string, unknown>, seed, batchIds, stimulusSetId: set.id, studyId: null },
          design.trialLists.map((trials, p) => ({
            ordinal: p + 1,
            label: `p${p + 1}`,
            tokenHash: hashToken(tokens[p]),
            trials: trials.map((t): StoredTrial => ({ ...t, stimulusKey: newStimulusKey() })),
          })),
        );
        const { study } = await tx.studies.ensureStudy(ctx.groupId, `experiment:${result.experiment.id}`, name, `metamer hub experiment ${result.experiment.id}`);
        await tx.experiments.linkStudy(result.experiment.id, study.id);
        return { ...result, experiment: { ...result.experiment, studyId: study.id } };
      },
      { timeoutMs: 120_000 },
    );
    const links = created.participants.map((p, i) => ({
      participantId: p.id,
      label: p.label,
      token: tokens[i],
      url: `${this.baseUrl()}/experiments/${created.experiment.id}/run?token=${tokens[i]}`,
    }));
    // One URL for every participant (Prolific's study URL): each visit with a new PROLIFIC_PID claims a free place.
    const entryUrl = `${this.baseUrl()}/experiments/${created.experiment.id}/run?entry=${entryKey}`;
    return { ...created, links, entryUrl };
  }

  async get(caller: Caller, id: string): Promise<ExperimentRecord> {
    const ctx = requireRole(caller, "READER");
    if (!UUID.test(id)) throw new AppError("BAD_USER_INPUT", `id: expected an experiment id (a UUID), got '${id}'`);
    const experiment = await this.store.experiments.find(ctx.groupId, id);
    if (!experiment) throw new AppError("NOT_FOUND", `id: no experiment with id '${id}' in this group`);
    return experiment;
  }

  async list(caller: Caller, first: number): Promise<ExperimentRecord[]> {
    const ctx = requireRole(caller, "READER");
    return this.store.experiments.list(ctx.groupId, checkCount("first", first, "pageFirst"));
  }

  /** The experiment as the API shows it to the lab: design, expected trials per condition, participants and their lists. */
  async describe(caller: Caller, id: string): Promise<ExperimentView> {
    const experiment = await this.get(caller, id);
    const [participants, answered] = await Promise.all([this.store.experiments.participants(experiment.id), this.store.experiments.answeredCounts(experiment.id)]);
    return experimentView(experiment, participants, answered);
  }

  async createView(caller: Caller, input: CreateExperimentInput): Promise<{ experiment: ExperimentView; links: ParticipantLink[]; entryUrl: string }> {
    const created = await this.create(caller, input);
    return { experiment: experimentView(created.experiment, created.participants, new Map()), links: created.links, entryUrl: created.entryUrl };
  }

  /** MEMBER: no new participant may start (links and the entry URL are refused); answers of started ones are kept. */
  async close(caller: Caller, id: string): Promise<ExperimentView> {
    requireRole(caller, "MEMBER");
    const experiment = await this.get(caller, id);
    await this.store.experiments.setExperimentStatus(experiment.id, "CLOSED");
    return this.describe(caller, id);
  }

  /** Trial-level and aggregate CSV tables of an experiment (every participant, excluded ones with their reason). */
  async results(caller: Caller, id: string): Promise<{ experimentId: string; studyId: string | null; trialsCsv: string; aggregateCsv: string }> {
    const experiment = await this.get(caller, id);
    const [participants, responses] = await Promise.all([this.store.experiments.participants(experiment.id), this.store.experiments.experimentResponses(experiment.id)]);
    return { experimentId: experiment.id, studyId: experiment.studyId, ...tablesAsCsv(resultTables(experiment, participants, responses)) };
  }

  /** MEMBER: trial data run elsewhere (jsPsych JSON/CSV, PsychoJS CSV), all or nothing (imports.ts). */
  async importResponses(caller: Caller, id: string, options: ImportOptions): Promise<ImportSummary> {
    requireRole(caller, "MEMBER");
    return importResponses(this.store, await this.get(caller, id), options);
  }

  /** MEMBER: a Prolific demographic export joined on the participants' Prolific ids. */
  async importDemographics(caller: Caller, id: string, csv: string): Promise<{ matched: number; unmatched: number }> {
    requireRole(caller, "MEMBER");
    return importDemographics(this.store, await this.get(caller, id), csv);
  }

  async listViews(caller: Caller, first: number): Promise<ExperimentView[]> {
    const experiments = await this.list(caller, first);
    return Promise.all(experiments.map((e) => this.describe(caller, e.id)));
  }
}

export interface ParticipantView {
  id: string;
  label: string;
  status: ParticipantRecord["status"];
  exclusionReason: string | null;
  prolificPid: string | null;
  prolificStudyId: string | null;
  prolificSessionId: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
  answered: number;
  trialCount: number;
  trials: StoredTrial[];
  demographics: Record<string, string> | null;
}

export interface ExperimentView extends StoredDesign {
  id: string;
  name: string;
  modality: ExperimentRecord["modality"];
  status: ExperimentRecord["status"];
  seed: number;
  batchIds: string[];
  stimulusSetId: string;
  studyId: string | null;
  createdAt: Date;
  participants: ParticipantView[];
  statusCounts: { pending: number; started: number; completed: number; excluded: number };
}

export function experimentView(e: ExperimentRecord, participants: ParticipantRecord[], answered: Map<string, number>): ExperimentView {
  const design = e.design as unknown as StoredDesign;
  const count = (s: ParticipantRecord["status"]) => participants.filter((p) => p.status === s).length;
  return {
    ...design,
    id: e.id, name: e.name, modality: e.modality, status: e.status, seed: e.seed, batchIds: e.batchIds, stimulusSetId: e.stimulusSetId,
    studyId: e.studyId, createdAt: e.createdAt,
    participants: participants.map((p) => ({
      id: p.id, label: p.label, status: p.status, exclusionReason: p.exclusionReason, prolificPid: p.prolificPid,
      prolificStudyId: p.prolificStudyId, prolificSessionId: p.prolificSessionId, startedAt: p.startedAt, completedAt: p.completedAt,
      answered: answered.get(p.id) ?? 0, trialCount: p.trials.length, trials: p.trials as StoredTrial[], demographics: p.demographics,
    })),
    statusCounts: { pending: count("PENDING"), started: count("STARTED"), completed: count("COMPLETED"), excluded: count("EXCLUDED") },
  };
}

export { NATURAL };
