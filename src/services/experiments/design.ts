import { SeededRandom } from "../../engine/index.js";
import { AppError } from "../../errors.js";

/**
 * The paper's human-experiment design (Feather et al. 2023, the authors' MTurk code), as a pure seeded function:
 * - conditions = {natural} ∪ {model × stage};
 * - every source stimulus is shown exactly once per participant (main trials); each condition gets
 *   ⌈#stimuli / #conditions⌉ slots, the slot list is shuffled and truncated to #stimuli, and paired with the shuffled
 *   stimuli, so every participant sees each condition ⌊n/c⌋ or ⌈n/c⌉ times and each stimulus in a random condition;
 * - a stimulus whose metamer failed validation (or does not exist) in its condition is shown natural instead; the
 *   trial keeps its condition and says so (`shownNatural`, `fallback`), and results leave it out of that condition;
 * - screening before the main trials: practice with feedback (the first half with the longer practice timing),
 *   scored demo trials, and for audio a headphone check (antiphase loudness trials) first;
 * - catch trials (natural stimuli with the practice timing, easy by construction) interleaved with the main trials.
 * The same input and seed give the same trial lists; nothing here reads a clock or Math.random.
 */

export type Phase = "practice" | "demo" | "main" | "catch" | "headphone";
export const NATURAL = "natural";

export interface TrialTiming {
  fixationMs: number;
  stimulusMs: number;
  maskMs: number;
}

export interface DesignTiming {
  fixationMs: number;
  stimulusMs: number;
  maskMs: number;
  practiceFixationMs: number;
  practiceStimulusMs: number;
  practiceMaskMs: number;
  /** Audio clip length (audio only). */
  clipMs?: number;
}

export interface DesignCounts {
  practice: number;
  demo: number;
  catch: number;
  /** Headphone-check trials (audio only; 0 for images). */
  headphone: number;
}

export interface Screening {
  demoTrials: number;
  /** Demo trials that must be answered correctly to continue. */
  minCorrect: number;
  /** Headphone-check trials that must be answered correctly (audio). */
  headphoneMinCorrect: number;
}

export interface SourceStimulus {
  id: string;
  label: string;
}

export interface MetamerCandidate {
  modelId: string;
  stage: string;
  stimulusId: string;
  metamerId: string;
  passed: boolean;
}

export interface DesignInput {
  modality: "IMAGE" | "AUDIO";
  seed: number;
  participants: number;
  /** The source stimuli: each is shown once per participant in the main trials. */
  stimuli: SourceStimulus[];
  /** Natural stimuli for practice, demo and catch trials (may overlap the sources when the set has no others). */
  screeningPool: SourceStimulus[];
  /** Metamer conditions (model × stage), in the order the results list them. */
  conditions: { modelId: string; stage: string }[];
  metamers: MetamerCandidate[];
  /** The response alternatives shown on every (non-headphone) trial. */
  responseOptions: string[];
  /** Stimulus label -> response option (a label map's coarse labels); null: the label itself is the answer. */
  labelMap: Record<string, string> | null;
  timing: DesignTiming;
  counts: DesignCounts;
  screening: Screening;
}

/** A trial as stored: what the page sees (index, phase, options, timing, practice feedback) and what it must not. */
export interface DesignedTrial {
  index: number;
  phase: Phase;
  /** The natural stimulus shown (or whose metamer is shown); null for headphone trials. */
  stimulusId: string | null;
  /** The metamer shown; null when a natural stimulus is shown. */
  metamerId: string | null;
  /** "natural" or "<modelId>/<stage>" for main trials; null otherwise. */
  condition: string | null;
  modelId: string | null;
  stage: string | null;
  /** True when a metamer condition shows the natural stimulus because its metamer failed validation or is missing. */
  shownNatural: boolean;
  fallback: "FAILED_VALIDATION" | "NO_METAMER" | null;
  correctLabel: string;
  options: string[];
  timing: TrialTiming;
  /** Headphone trials: which of the three tones is the antiphase one and which the quieter one (0-based). */
  headphone: { antiphase: number; quieter: number } | null;
}

export interface ConditionSummary {
  condition: string;
  modelId: string | null;
  stage: string;
  /** Main trials per participant: ⌊n/c⌋ or ⌈n/c⌉. */
  minPerParticipant: number;
  maxPerParticipant: number;
  /** Main trials over all participants, and how many of them show the natural stimulus instead of a metamer. */
  total: number;
  shownNatural: number;
}

export interface Design {
  trialLists: DesignedTrial[][];
  conditions: ConditionSummary[];
  mainTrials: number;
}

export const DESIGN_LIMITS = {
  participants: { min: 1, max: 1_000 },
  stimuli: { min: 1, max: 5_000 },
  conditions: { max: 500 },
  practice: { min: 0, max: 100 },
  demo: { min: 0, max: 100 },
  catch: { min: 0, max: 200 },
  headphone: { min: 0, max: 24 },
  options: { min: 2, max: 1_000 },
  durationMs: { min: 0, max: 10_000 },
} as const;

export const HEADPHONE_OPTIONS = ["1", "2", "3"];

const bad = (message: string) => new AppError("BAD_USER_INPUT", message);

function checkRange(name: string, value: number, range: { min: number; max: number }): void {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw bad(`${name}: expected an integer from ${range.min} to ${range.max}, got ${value}`);
  }
}

export const conditionKey = (modelId: string, stage: string) => `${modelId}/${stage}`;

/** Checks the input and says why a design cannot be built or balanced. */
function check(input: DesignInput): void {
  checkRange("participants", input.participants, DESIGN_LIMITS.participants);
  checkRange("practiceTrials", input.counts.practice, DESIGN_LIMITS.practice);
  checkRange("demoTrials", input.counts.demo, DESIGN_LIMITS.demo);
  checkRange("catchTrials", input.counts.catch, DESIGN_LIMITS.catch);
  checkRange("headphoneTrials", input.counts.headphone, DESIGN_LIMITS.headphone);
  if (input.modality === "IMAGE" && input.counts.headphone > 0) {
    throw bad(`headphoneTrials: a headphone check is for AUDIO experiments, got ${input.counts.headphone} trials for IMAGE`);
  }
  for (const [name, v] of Object.entries(input.timing)) {
    if (v !== undefined) checkRange(`timing.${name}`, v, DESIGN_LIMITS.durationMs);
  }
  if (input.modality === "AUDIO" && input.timing.clipMs === undefined) throw bad("timing.clipMs: expected the clip length in ms for an AUDIO experiment, got nothing");
  checkRange("screening.minCorrect", input.screening.minCorrect, { min: 0, max: input.counts.demo });
  checkRange("screening.headphoneMinCorrect", input.screening.headphoneMinCorrect, { min: 0, max: input.counts.headphone });
  if (input.screening.demoTrials !== input.counts.demo) {
    throw bad(`screening.demoTrials: expected the number of demo trials (${input.counts.demo}), got ${input.screening.demoTrials}`);
  }
  const options = input.responseOptions;
  if (options.length < DESIGN_LIMITS.options.min || options.length > DESIGN_LIMITS.options.max) {
    throw bad(`responseOptions: expected ${DESIGN_LIMITS.options.min} to ${DESIGN_LIMITS.options.max} options, got ${options.length}`);
  }
  const seen = new Set<string>();
  for (const o of options) {
    if (o.trim() === "") throw bad("responseOptions: expected non-empty labels, got an empty one");
    if (seen.has(o)) throw bad(`responseOptions: expected distinct labels, got '${o}' twice`);
    seen.add(o);
  }
  const n = input.stimuli.length;
  if (n < DESIGN_LIMITS.stimuli.min || n > DESIGN_LIMITS.stimuli.max) {
    throw bad(`stimuli: expected ${DESIGN_LIMITS.stimuli.min} to ${DESIGN_LIMITS.stimuli.max} source stimuli (the natural stimuli of the batches' metamers), got ${n}`);
  }
  if (new Set(input.stimuli.map((s) => s.id)).size !== n) throw bad("stimuli: a source stimulus is listed twice");
  const c = input.conditions.length + 1;
  if (c - 1 < 1) throw bad("batchIds: the batches have no metamer condition (model × stage); a design needs at least one besides natural");
  if (c - 1 > DESIGN_LIMITS.conditions.max) throw bad(`batchIds: at most ${DESIGN_LIMITS.conditions.max} model × stage conditions, got ${c - 1}`);
  if (n < c) {
    throw bad(
      `stimuli: the design cannot be balanced: each of the ${c} conditions (natural + ${c - 1} model × stage) needs at least one of each participant's main trials, but there are only ${n} source stimuli`,
    );
  }
  const extra = input.counts.practice + input.counts.demo + input.counts.catch;
  if (extra > 0 && input.screeningPool.length === 0) throw bad("stimulusSetId: practice, demo and catch trials need natural stimuli, and the set has none");
  for (const s of [...input.stimuli, ...input.screeningPool]) answerOf(input, s);
  // A condition with no validated metamer of any source stimulus would measure nothing but natural fallbacks.
  const passed = new Set(input.metamers.filter((m) => m.passed).map((m) => conditionKey(m.modelId, m.stage)));
  for (const cond of input.conditions) {
    if (!passed.has(conditionKey(cond.modelId, cond.stage))) {
      throw bad(`batchIds: condition ${cond.modelId} stage '${cond.stage}' has no metamer that passed validation, so every one of its trials would show a natural stimulus; leave it out`);
    }
  }
}

function answerOf(input: DesignInput, s: SourceStimulus): string {
  const answer = input.labelMap ? input.labelMap[s.label] : s.label;
  if (answer === undefined) throw bad(`labelMap: expected an entry for every stimulus label, got none for '${s.label}'`);
  if (!input.responseOptions.includes(answer)) {
    throw bad(`responseOptions: the answer '${answer}' (of stimulus label '${s.label}') is not one of the response options (${input.responseOptions.join(", ")})`);
  }
  return answer;
}

/** Builds one trial list per participant. Throws BAD_USER_INPUT saying why when the design cannot be built. */
export function generateDesign(input: DesignInput): Design {
  check(input);
  const master = new SeededRandom(input.seed);
  const n = input.stimuli.length;
  const keys = [NATURAL, ...input.conditions.map((c) => conditionKey(c.modelId, c.stage))];
  const perCondition = Math.ceil(n / keys.length);
  const byKey = new Map<string, MetamerCandidate>();
  for (const m of input.metamers) {
    const key = `${conditionKey(m.modelId, m.stage)}|${m.stimulusId}`;
    // Several batches may hold a metamer of the same stimulus in the same condition: a validated one wins.
    const prior = byKey.get(key);
    if (!prior || (!prior.passed && m.passed)) byKey.set(key, m);
  }
  const summaries = new Map<string, ConditionSummary>(
    keys.map((k, i) => {
      const cond = i === 0 ? null : input.conditions[i - 1];
      return [k, { condition: k, modelId: cond?.modelId ?? null, stage: cond?.stage ?? NATURAL, minPerParticipant: Infinity, maxPerParticipant: 0, total: 0, shownNatural: 0 }];
    }),
  );
  const t = input.timing;
  const mainTiming: TrialTiming = { fixationMs: t.fixationMs, stimulusMs: t.stimulusMs, maskMs: t.maskMs };
  const longTiming: TrialTiming = { fixationMs: t.practiceFixationMs, stimulusMs: t.practiceStimulusMs, maskMs: t.practiceMaskMs };
  const options = input.responseOptions;

  const trialLists: DesignedTrial[][] = [];
  for (let p = 0; p < input.participants; p++) {
    // One stream per participant, drawn from the master seed: participant p's list depends on (seed, p) only.
    const rng = new SeededRandom(master.nextUint32());
    const trials: Omit<DesignedTrial, "index">[] = [];
    const natural = (phase: Phase, s: SourceStimulus, timing: TrialTiming): Omit<DesignedTrial, "index"> => ({
      phase, stimulusId: s.id, metamerId: null, condition: null, modelId: null, stage: null, shownNatural: false, fallback: null,
      correctLabel: answerOf(input, s), options, timing, headphone: null,
    });
    // Practice, demo and catch stimuli go through the shuffled pool in turn (wrapping when it is shorter).
    const pool = rng.shuffle([...input.screeningPool]);
    let cursor = 0;
    const take = (count: number) => Array.from({ length: count }, () => pool[cursor++ % pool.length]);

    for (let h = 0; h < input.counts.headphone; h++) {
      const antiphase = rng.nextInt(3);
      const quieter = (antiphase + 1 + rng.nextInt(2)) % 3;
      trials.push({
        phase: "headphone", stimulusId: null, metamerId: null, condition: null, modelId: null, stage: null, shownNatural: false, fallback: null,
        correctLabel: HEADPHONE_OPTIONS[quieter], options: HEADPHONE_OPTIONS, timing: { fixationMs: 0, stimulusMs: 0, maskMs: 0 }, headphone: { antiphase, quieter },
      });
    }
    const practice = take(input.counts.practice);
    practice.forEach((s, i) => trials.push(natural("practice", s, i < Math.ceil(practice.length / 2) ? longTiming : mainTiming)));
    for (const s of take(input.counts.demo)) trials.push(natural("demo", s, mainTiming));

    const slots = rng.shuffle(keys.flatMap((k) => Array<string>(perCondition).fill(k))).slice(0, n);
    const stimuli = rng.shuffle([...input.stimuli]);
    const main: Omit<DesignedTrial, "index">[] = stimuli.map((s, i) => {
      const key = slots[i];
      const summary = summaries.get(key)!;
      if (key === NATURAL) return { ...natural("main", s, mainTiming), condition: NATURAL, stage: NATURAL };
      const m = byKey.get(`${key}|${s.id}`);
      const fallback = !m ? "NO_METAMER" : m.passed ? null : "FAILED_VALIDATION";
      if (fallback) summary.shownNatural++;
      return {
        ...natural("main", s, mainTiming),
        metamerId: fallback ? null : m!.metamerId,
        condition: key, modelId: summary.modelId, stage: summary.stage, shownNatural: fallback !== null, fallback,
      };
    });
    for (const s of take(input.counts.catch)) main.push(natural("catch", s, longTiming));
    trials.push(...rng.shuffle(main));

    const counts = new Map<string, number>(keys.map((k) => [k, 0]));
    for (const key of slots) counts.set(key, counts.get(key)! + 1);
    for (const [key, count] of counts) {
      const s = summaries.get(key)!;
      s.minPerParticipant = Math.min(s.minPerParticipant, count);
      s.maxPerParticipant = Math.max(s.maxPerParticipant, count);
      s.total += count;
    }
    trialLists.push(trials.map((trial, index) => ({ ...trial, index })));
  }
  return { trialLists, conditions: [...summaries.values()], mainTrials: n };
}
