import { NATURAL, type Phase } from "./design.js";
import type { StoredDesign, StoredTrial } from "./types.js";

/**
 * Pure decisions on a participant's answers: screening, exclusion at completion, and per-condition proportion correct.
 * One module for both ways answers arrive (posted by the page, imported from a file), so both give the same results.
 */

export interface Answer {
  trialIndex: number;
  correct: boolean;
}

const correctIn = (trials: StoredTrial[], answers: Answer[], phase: Phase) => {
  const indices = new Set(trials.filter((t) => t.phase === phase).map((t) => t.index));
  const mine = answers.filter((a) => indices.has(a.trialIndex));
  return { total: indices.size, answered: mine.length, correct: mine.filter((a) => a.correct).length };
};

/**
 * After an answer of `phase` (demo or headphone): the exclusion reason once every trial of that phase is answered and
 * too few were correct, else null.
 */
export function screeningOutcome(design: StoredDesign, trials: StoredTrial[], answers: Answer[], phase: "demo" | "headphone"): string | null {
  const c = correctIn(trials, answers, phase);
  if (c.answered < c.total) return null;
  const min = phase === "demo" ? design.screening.minCorrect : design.screening.headphoneMinCorrect;
  if (c.correct >= min) return null;
  return phase === "demo"
    ? `failed screening: ${c.correct} of ${c.total} demo trials correct, at least ${min} needed`
    : `failed the headphone check: ${c.correct} of ${c.total} correct, at least ${min} needed`;
}

/** At completion: why the participant is excluded (incomplete, catch trials), or null when it is kept. */
export function evaluateCompletion(design: StoredDesign, trials: StoredTrial[], answers: Answer[]): string | null {
  const answered = new Set(answers.map((a) => a.trialIndex));
  if (answered.size < trials.length) return `incomplete: ${answered.size} of ${trials.length} trials answered`;
  for (const phase of ["headphone", "demo"] as const) {
    const failure = screeningOutcome(design, trials, answers, phase);
    if (failure) return failure;
  }
  const c = correctIn(trials, answers, "catch");
  if (c.total > 0 && c.correct / c.total < design.catchThreshold) {
    return `catch trials: ${c.correct} of ${c.total} correct (${(c.correct / c.total).toFixed(3)}), below the threshold ${design.catchThreshold}`;
  }
  return null;
}

export interface ConditionScore {
  condition: string;
  n: number;
  correct: number;
  /** The trials scored: their metamer (metamer conditions) or stimulus (natural), for the NETWORK column. */
  metamerIds: string[];
  stimulusIds: string[];
}

/**
 * Proportion correct per condition over main trials. A metamer condition's trial that showed the natural stimulus
 * instead (its metamer failed validation) measures nothing about that metamer and is left out of every condition.
 */
export function conditionScores(trials: StoredTrial[], answers: Answer[]): Map<string, ConditionScore> {
  const byIndex = new Map(answers.map((a) => [a.trialIndex, a]));
  const out = new Map<string, ConditionScore>();
  for (const t of trials) {
    if (t.phase !== "main" || t.shownNatural || t.condition === null) continue;
    const a = byIndex.get(t.index);
    if (!a) continue;
    const s = out.get(t.condition) ?? out.set(t.condition, { condition: t.condition, n: 0, correct: 0, metamerIds: [], stimulusIds: [] }).get(t.condition)!;
    s.n++;
    if (a.correct) s.correct++;
    if (t.condition === NATURAL) s.stimulusIds.push(t.stimulusId!);
    else s.metamerIds.push(t.metamerId!);
  }
  return out;
}
