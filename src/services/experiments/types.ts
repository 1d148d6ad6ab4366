import { createHash, randomBytes } from "node:crypto";
import { AppError } from "../../errors.js";
import type { ConditionSummary, DesignCounts, DesignTiming, DesignedTrial, Phase, Screening, TrialTiming } from "./design.js";

/** What an experiment's `design` column holds: the generator's settings and what the participant page shows. */
export interface StoredDesign {
  timing: DesignTiming;
  responseOptions: string[];
  labelMap: Record<string, string> | null;
  instructions: string;
  consent: string;
  counts: DesignCounts;
  screening: Screening;
  /** Catch-trial accuracy below this excludes a participant at completion. */
  catchThreshold: number;
  completion: { redirectUrl: string | null; code: string | null; screenedOutRedirectUrl: string | null; screenedOutCode: string | null };
  conditions: ConditionSummary[];
  mainTrials: number;
  /** sha256 of the experiment's entry key (one URL for every participant, e.g. Prolific's study URL): participation.ts. */
  entryKeyHash?: string;
}

/** A trial as stored in a participant's list: the design's trial and its opaque stimulus key. */
export interface StoredTrial extends DesignedTrial {
  stimulusKey: string;
}

/** What the participant page receives of a trial: nothing that names a model, stage, condition or stimulus. */
export interface ParticipantTrial {
  index: number;
  phase: Phase;
  stimulusKey: string;
  options: string[];
  /** The correct answer, shown as feedback: practice trials only. */
  feedbackLabel?: string;
  timing: TrialTiming;
}

/** A participation link's secret: 32 random bytes (base64url); only its sha256 is stored. */
export function newToken(): string {
  // A credential, not a science draw: crypto randomness is right here (seeded randomness is for designs).
  return randomBytes(32).toString("base64url");
}

export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

/** A stimulus key: random, per participant trial, so it reveals nothing and cannot be guessed across participants. */
export const newStimulusKey = (): string => randomBytes(12).toString("base64url");

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The token's (or entry key's) hash, or UNAUTHENTICATED when it cannot be one at all. */
export function checkedTokenHash(token: unknown, name = "token"): string {
  if (typeof token !== "string" || !TOKEN.test(token)) {
    throw new AppError("UNAUTHENTICATED", `${name}: expected the 43-character ${name === "token" ? "token of a participation link" : "key of an experiment's entry URL"}, got something else`);
  }
  return hashToken(token);
}
