// The demo's paired comparisons, as pure functions of per-metamer recognitions: which comparisons a run makes (matched
// architectures, and each standard model's first vs final stage), and per comparison the per-digit differences the
// API's pairedDifferenceTest turns into a p-value and a CI. Pairing over digits removes the digit-to-digit variation
// that an unpaired comparison of two curve points would count as noise.
import type { TrainingRegime } from "./result.js";

/** One recognizer's judgement of one metamer (a row of GET /export/model-trials.csv). */
export interface Trial {
  recognizerId: string;
  metamerId: string;
  correct: boolean;
}

/** Where a validated metamer came from: its digit (stimulus id) and stage label. */
export interface MetamerTarget {
  stimulusId: string;
  stage: string;
}

/**
 * Per stage, per digit: the share of `recognizers` that classified the metamer correctly. Only metamers that every
 * one of those recognizers judged enter, so every value is a mean over the same recognizers.
 */
export function perDigitRecognizability(trials: Trial[], targets: Map<string, MetamerTarget>, recognizers: string[]): Map<string, Map<string, number>> {
  const wanted = new Set(recognizers);
  const byMetamer = new Map<string, Map<string, boolean>>();
  for (const t of trials) {
    if (!wanted.has(t.recognizerId) || !targets.has(t.metamerId)) continue;
    (byMetamer.get(t.metamerId) ?? byMetamer.set(t.metamerId, new Map()).get(t.metamerId)!).set(t.recognizerId, t.correct);
  }
  const out = new Map<string, Map<string, number>>();
  for (const [metamerId, judged] of byMetamer) {
    if (judged.size !== wanted.size) continue;
    const { stimulusId, stage } = targets.get(metamerId)!;
    const correct = [...judged.values()].filter(Boolean).length;
    (out.get(stage) ?? out.set(stage, new Map()).get(stage)!).set(stimulusId, correct / wanted.size);
  }
  return out;
}

/** a - b for every digit both have, in `order` (the run's digit order, so the differences are reproducible). */
export function pairedDifferences(a: Map<string, number> | undefined, b: Map<string, number> | undefined, order: string[]): number[] {
  if (!a || !b) return [];
  return order.filter((id) => a.has(id) && b.has(id)).map((id) => a.get(id)! - b.get(id)!);
}

/** A side of a comparison: one model's metamers at one stage. */
export interface Side {
  model: string;
  stage: string;
}

/** What a run compares: A - B per digit, recognized by `recognizers` (model names; neither side's generator). */
export interface ComparisonPlan {
  kind: "MATCHED" | "FIRST_VS_FINAL";
  a: Side;
  b: Side;
  recognizers: string[];
}

export interface PlanModel {
  name: string;
  regime: TrainingRegime;
  /** Models with the same architecture description are matched. */
  architecture: string;
  /** Stage labels in network order. */
  stages: string[];
}

/**
 * The run's comparisons: every non-standard model against the standard model of the same architecture, at every
 * stage both have (recognized by the models that are neither of them, so both sides face the same judges), and every
 * standard model's first stage against its final stage (recognized by the other models, as its curve is).
 */
export function comparisonPlans(models: PlanModel[]): ComparisonPlan[] {
  const names = models.map((m) => m.name);
  const plans: ComparisonPlan[] = [];
  for (const m of models.filter((x) => x.regime === "STANDARD" && x.stages.length >= 2)) {
    plans.push({
      kind: "FIRST_VS_FINAL",
      a: { model: m.name, stage: m.stages[0] },
      b: { model: m.name, stage: m.stages[m.stages.length - 1] },
      recognizers: names.filter((n) => n !== m.name),
    });
  }
  for (const m of models.filter((x) => x.regime !== "STANDARD")) {
    const match = matchedStandard(models, m);
    if (!match) continue;
    for (const stage of m.stages.filter((s) => match.stages.includes(s))) {
      plans.push({
        kind: "MATCHED",
        a: { model: m.name, stage },
        b: { model: match.name, stage },
        recognizers: names.filter((n) => n !== m.name && n !== match.name),
      });
    }
  }
  return plans;
}

/** The standard model of the same architecture as `m`, if the run has one. */
export function matchedStandard(models: PlanModel[], m: PlanModel): PlanModel | undefined {
  return models.find((x) => x.regime === "STANDARD" && x.architecture === m.architecture && x.name !== m.name);
}

/** Minimal RFC 4180 reader (quoted fields, doubled quotes) for the export's CSV: rows of fields, header first. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) rows.push([...row, field]);
  return rows;
}
