import { timingSafeEqual } from "node:crypto";
import { AppError } from "../../errors.js";
import type { ExperimentRecord, ParticipantRecord } from "../../store/experiments.js";
import type { Store } from "../../store/store.js";
import type { DesignTiming } from "./design.js";
import { headphoneTrialWav } from "./headphone.js";
import { evaluateCompletion, screeningOutcome } from "./scoring.js";
import { writeParticipantScores } from "./results.js";
import { checkedTokenHash, hashToken, newToken, type ParticipantTrial, type StoredDesign, type StoredTrial } from "./types.js";

export type { ParticipantTrial } from "./types.js";

/**
 * The participant's side of an experiment (the page at /experiments/<id>/run calls these). A participant is known
 * only by the one-time token of its link: no API key is accepted or needed, and nothing returned names a model, a
 * stage, a condition or another participant. Decisions taken here: screening (after the headphone and demo trials),
 * replay protection (one answer per trial; a completed or excluded link is spent), exclusion at completion (catch
 * trials, incomplete) and the scores of a completed participant (results.ts).
 */

export interface ParticipationStart {
  participantId: string;
  modality: "IMAGE" | "AUDIO";
  timing: DesignTiming;
  instructions: string;
  consent: string;
  responseOptions: string[];
  screening: { demoTrials: number; minCorrect: number };
  trials: ParticipantTrial[];
  answeredTrialIndices: number[];
}

export interface ResponseInput {
  trialIndex: number;
  response: string;
  rtMs: number;
  onsetMs: number;
  offsetMs: number;
  stimulusFrames: number;
  refreshHz: number;
}

export interface CompletionResult {
  redirectUrl?: string;
  completionCode?: string;
  excluded: boolean;
  reason?: string;
}

const PROLIFIC_ID = /^[A-Za-z0-9_-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_RESPONSE = 200;

export const publicTrial = (t: StoredTrial): ParticipantTrial => ({
  index: t.index,
  phase: t.phase,
  stimulusKey: t.stimulusKey,
  options: t.options,
  ...(t.phase === "practice" ? { feedbackLabel: t.correctLabel } : {}),
  timing: t.timing,
});

/** Case and surrounding spaces do not matter (audio answers are typed). */
const normalize = (s: string) => s.trim().toLowerCase();

function checkNumber(name: string, v: unknown, min: number, max: number, integer = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new AppError("BAD_USER_INPUT", `${name}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

export class ParticipationService {
  constructor(private readonly store: Store) {}

  /** The participant behind a token (UNAUTHENTICATED when none), its experiment, and the refusal of spent links. */
  private async participant(store: Store, token: string, lock: boolean): Promise<{ participant: ParticipantRecord; experiment: ExperimentRecord }> {
    const hash = checkedTokenHash(token);
    let participant = await store.experiments.findParticipantByToken(hash);
    if (!participant) throw new AppError("UNAUTHENTICATED", "token: no participation link has this token");
    if (lock) participant = (await store.experiments.lockParticipant(participant.id))!;
    const experiment = (await store.experiments.findById(participant.experimentId))!;
    if (participant.completedAt) {
      throw new AppError("FORBIDDEN", `token: this participation link was already used to the end (participant ${participant.status.toLowerCase()}); it cannot be used again`);
    }
    // A closed experiment takes no new participant; one already under way may finish.
    if (experiment.status === "CLOSED" && participant.status === "PENDING") throw new AppError("FORBIDDEN", "token: this experiment is closed and takes no more participants");
    return { participant, experiment };
  }

  /**
   * Refuses a token used under another experiment's URL, as if unknown (no link of this experiment has it): the URL
   * names one experiment, and a token must not reach another through it.
   */
  async assertTokenOf(experimentId: string, token: string): Promise<void> {
    const participant = await this.store.experiments.findParticipantByToken(checkedTokenHash(token));
    if (!participant || participant.experimentId !== experimentId) {
      throw new AppError("UNAUTHENTICATED", "token: no participation link of this experiment has this token");
    }
  }

  /**
   * The entry URL's visit (`/experiments/<id>/run?entry=<key>&PROLIFIC_PID=...`): the place already held by this
   * Prolific id, else the first free one, gets a fresh token (an earlier link of that place stops working), so one
   * study URL serves every participant and a participant who comes back resumes its own place. Needs PROLIFIC_PID:
   * without an id every reload would take another place.
   */
  async claimParticipation(experimentId: string, entryKey: string, prolific: { pid?: string; studyId?: string; sessionId?: string }): Promise<{ token: string; participantId: string }> {
    if (!UUID.test(experimentId)) throw new AppError("BAD_USER_INPUT", `experimentId: expected a UUID, got '${String(experimentId).slice(0, 40)}'`);
    const hash = checkedTokenHash(entryKey, "entry");
    const experiment = await this.store.experiments.findById(experimentId);
    const expected = (experiment?.design as unknown as StoredDesign | undefined)?.entryKeyHash;
    if (!experiment || !expected || !timingSafeEqual(Buffer.from(expected), Buffer.from(hash))) {
      throw new AppError("UNAUTHENTICATED", "entry: this is not the entry key of an experiment");
    }
    if (experiment.status === "CLOSED") throw new AppError("FORBIDDEN", "entry: this experiment is closed and takes no more participants");
    const ids = checkProlific(prolific);
    if (ids.pid === null) throw new AppError("BAD_USER_INPUT", "PROLIFIC_PID: the entry URL needs the participant's Prolific id (add PROLIFIC_PID={{%PROLIFIC_PID%}} to the study URL), got nothing");
    const pid = ids.pid;
    return this.store.transaction(async (tx) => {
      await tx.experiments.lockExperiment(experiment.id);
      const place = await tx.experiments.claimablePlace(experiment.id, pid);
      if (!place) throw new AppError("FORBIDDEN", "entry: every place of this experiment is taken");
      if (place.completedAt || place.status === "EXCLUDED") {
        throw new AppError("FORBIDDEN", `PROLIFIC_PID: this participant already took part (${place.status.toLowerCase()}); it cannot start again`);
      }
      const token = newToken();
      await tx.experiments.assignPlace(place.id, hashToken(token), { pid, studyId: ids.studyId, sessionId: ids.sessionId });
      // Arrived: the place is under way (a closed experiment still lets it finish).
      await tx.experiments.markStarted(place.id, { pid, studyId: ids.studyId, sessionId: ids.sessionId });
      return { token, participantId: place.id };
    });
  }

  async startParticipation(token: string, prolific?: { pid?: string; studyId?: string; sessionId?: string }): Promise<ParticipationStart> {
    const ids = checkProlific(prolific);
    const { participant, experiment } = await this.participant(this.store, token, false);
    if (participant.status === "EXCLUDED") {
      throw new AppError("FORBIDDEN", `token: this participant was excluded (${participant.exclusionReason ?? "no reason recorded"}); the link cannot be used again`);
    }
    await this.store.experiments.markStarted(participant.id, ids);
    const design = experiment.design as unknown as StoredDesign;
    const t = design.timing;
    return {
      participantId: participant.id,
      modality: experiment.modality,
      timing: {
        fixationMs: t.fixationMs,
        stimulusMs: t.stimulusMs,
        maskMs: t.maskMs,
        practiceFixationMs: t.practiceFixationMs,
        practiceStimulusMs: t.practiceStimulusMs,
        practiceMaskMs: t.practiceMaskMs,
        ...(t.clipMs !== undefined ? { clipMs: t.clipMs } : {}),
      },
      instructions: design.instructions,
      consent: design.consent,
      responseOptions: design.responseOptions,
      screening: { demoTrials: design.screening.demoTrials, minCorrect: design.screening.minCorrect },
      trials: (participant.trials as StoredTrial[]).map(publicTrial),
      answeredTrialIndices: await this.store.experiments.answeredIndices(participant.id),
    };
  }

  async recordResponse(token: string, r: ResponseInput): Promise<{ recorded: boolean; screeningFailed?: boolean }> {
    return this.store.transaction(async (tx) => {
      const { participant, experiment } = await this.participant(tx, token, true);
      const trials = participant.trials as StoredTrial[];
      const trialIndex = checkNumber("trialIndex", r.trialIndex, 0, trials.length - 1, true);
      const trial = trials[trialIndex];
      const answered = new Set(await tx.experiments.answeredIndices(participant.id));
      const screenedOut = participant.status === "EXCLUDED";
      // A replay of an answered trial (a retried post, a reopened tab) changes nothing.
      if (answered.has(trialIndex)) return { recorded: false, ...(screenedOut ? { screeningFailed: true } : {}) };
      if (screenedOut) {
        throw new AppError("FORBIDDEN", `trialIndex: this participant was excluded (${participant.exclusionReason}); no further responses are taken`);
      }
      if (typeof r.response !== "string" || r.response.length === 0 || r.response.length > MAX_RESPONSE) {
        throw new AppError("BAD_USER_INPUT", `response: expected one of the trial's options (1 to ${MAX_RESPONSE} characters), got ${typeof r.response === "string" ? `${r.response.length} characters` : typeof r.response}`);
      }
      const option = trial.options.find((o) => normalize(o) === normalize(r.response));
      if (option === undefined) {
        throw new AppError("BAD_USER_INPUT", `response: expected one of the options of trial ${trialIndex} (${trial.options.slice(0, 20).join(", ")}${trial.options.length > 20 ? ", ..." : ""}), got '${r.response.slice(0, 60)}'`);
      }
      if (trial.phase === "main" || trial.phase === "catch") {
        const pending = trials.filter((t) => (t.phase === "demo" || t.phase === "headphone") && !answered.has(t.index));
        if (pending.length > 0) {
          throw new AppError("BAD_USER_INPUT", `trialIndex: trial ${trialIndex} is a ${trial.phase} trial; the screening trials come first (${pending.length} unanswered, the first is ${pending[0].index})`);
        }
      }
      const rtMs = checkNumber("rtMs", r.rtMs, 0, 86_400_000);
      const onsetMs = checkNumber("onsetMs", r.onsetMs, -1e15, 1e15);
      const offsetMs = checkNumber("offsetMs", r.offsetMs, -1e15, 1e15);
      const frames = checkNumber("stimulusFrames", r.stimulusFrames, 0, 100_000, true);
      const refreshHz = checkNumber("refreshHz", r.refreshHz, 1, 1_000);
      if (participant.status === "PENDING") await tx.experiments.markStarted(participant.id, { pid: null, studyId: null, sessionId: null });
      const recorded = await tx.experiments.insertResponse({
        participantId: participant.id, trialIndex, response: option, correct: option === trial.correctLabel,
        rtMs, onsetMs, offsetMs, frames, refreshHz,
      });
      if (trial.phase !== "demo" && trial.phase !== "headphone") return { recorded };
      const design = experiment.design as unknown as StoredDesign;
      const failure = screeningOutcome(design, trials, await tx.experiments.responses(participant.id), trial.phase);
      if (failure === null) return { recorded };
      await tx.experiments.setStatus(participant.id, "EXCLUDED", failure, null);
      return { recorded, screeningFailed: true };
    });
  }

  async completeParticipation(token: string): Promise<CompletionResult> {
    return this.store.transaction(async (tx) => {
      const { participant, experiment } = await this.participant(tx, token, true);
      const design = experiment.design as unknown as StoredDesign;
      const c = design.completion;
      const now = new Date();
      if (participant.status === "EXCLUDED") {
        await tx.experiments.setStatus(participant.id, "EXCLUDED", participant.exclusionReason, now);
        return redirect(c.screenedOutRedirectUrl ?? c.redirectUrl, c.screenedOutCode ?? c.code, participant.exclusionReason);
      }
      const responses = await tx.experiments.responses(participant.id);
      const reason = evaluateCompletion(design, participant.trials as StoredTrial[], responses);
      await tx.experiments.setStatus(participant.id, reason === null ? "COMPLETED" : "EXCLUDED", reason, now);
      if (reason === null) await writeParticipantScores(tx, experiment, { ...participant, status: "COMPLETED" }, responses);
      return redirect(c.redirectUrl, c.code, reason);
    });
  }

  async stimulusForToken(token: string, stimulusKey: string): Promise<{ contentType: string; bytes: Uint8Array }> {
    const { participant } = await this.participant(this.store, token, false);
    if (participant.status === "EXCLUDED") throw new AppError("FORBIDDEN", "token: this participant was excluded; no further stimuli are served");
    const trial = (participant.trials as StoredTrial[]).find((t) => t.stimulusKey === stimulusKey);
    if (!trial) throw new AppError("NOT_FOUND", "stimulusKey: this participation link has no stimulus with that key");
    if (trial.headphone) return { contentType: "audio/wav", bytes: headphoneTrialWav(trial.headphone) };
    let sha256: string | null;
    let contentType: string | null = null;
    if (trial.metamerId) {
      sha256 = await this.store.experiments.metamerRendering(trial.metamerId);
    } else {
      const file = await this.store.experiments.stimulusFile(trial.stimulusId!);
      sha256 = file?.sha256 ?? null;
      contentType = file?.contentType ?? null;
    }
    const head = sha256 ? await this.store.blobs.head(sha256) : null;
    const bytes = sha256 ? await this.store.blobs.get(sha256) : null;
    if (!head || !bytes) throw new AppError("NOT_FOUND", "stimulusKey: the stimulus of this trial no longer exists (its metamer or stimulus was deleted)");
    return { contentType: contentType ?? head.contentType, bytes };
  }
}

function checkProlific(prolific?: { pid?: string; studyId?: string; sessionId?: string }) {
  const ids = { pid: prolific?.pid || null, studyId: prolific?.studyId || null, sessionId: prolific?.sessionId || null };
  for (const [name, v] of [["PROLIFIC_PID", ids.pid], ["STUDY_ID", ids.studyId], ["SESSION_ID", ids.sessionId]] as const) {
    if (v !== null && (typeof v !== "string" || !PROLIFIC_ID.test(v))) throw new AppError("BAD_USER_INPUT", `${name}: expected 1 to 128 letters, digits, '_' or '-', got '${String(v).slice(0, 40)}'`);
  }
  return ids;
}

function redirect(url: string | null, code: string | null, reason: string | null): CompletionResult {
  return {
    ...(url ? { redirectUrl: url } : {}),
    ...(code ? { completionCode: code } : {}),
    excluded: reason !== null,
    ...(reason !== null ? { reason } : {}),
  };
}
