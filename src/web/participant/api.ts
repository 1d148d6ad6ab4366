// The page's one way to talk to the hub: the participant routes of src/server/experiment-routes.ts, authenticated by
// the participation token only (never an API key). Every call retries transient failures, so a flaky connection
// pauses the page instead of losing an answer.

export type Phase = "practice" | "demo" | "main" | "catch" | "headphone";

export interface PhaseTiming {
  fixationMs: number;
  stimulusMs: number;
  maskMs: number;
}

export interface SessionTrial {
  index: number;
  phase: Phase;
  stimulusKey: string;
  options: string[];
  /** Practice trials only: the right answer, shown as feedback. */
  feedbackLabel?: string;
  timing: PhaseTiming;
}

export interface Session {
  participantId: string;
  modality: "IMAGE" | "AUDIO";
  timing: PhaseTiming & { practiceFixationMs: number; practiceStimulusMs: number; practiceMaskMs: number; clipMs?: number };
  instructions: string;
  consent: string;
  responseOptions: string[];
  screening: { demoTrials: number; minCorrect: number };
  trials: SessionTrial[];
  answeredTrialIndices: number[];
}

export interface TrialResponse {
  trialIndex: number;
  response: string;
  rtMs: number;
  onsetMs: number;
  offsetMs: number;
  stimulusFrames: number;
  refreshHz: number;
}

export interface RecordResult {
  recorded: boolean;
  screeningFailed?: boolean;
}

export interface Completion {
  redirectUrl?: string;
  completionCode?: string;
  excluded: boolean;
  reason?: string;
}

/** An answer from the hub that retrying will not change (a refused token, a bad request). */
export class HubRefusal extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface HubClient {
  readonly token: string;
  session(): Promise<Session>;
  record(response: TrialResponse): Promise<RecordResult>;
  complete(): Promise<Completion>;
  stimulusUrl(stimulusKey: string): string;
}

/** Where the page was opened: /experiments/<id>/run?token=...&PROLIFIC_PID=...&STUDY_ID=...&SESSION_ID=... */
export function hubFromLocation(location: Location, onRetry: (attempt: number) => void): HubClient {
  const match = /^(.*\/experiments\/[^/]+)\/run\/?$/.exec(location.pathname);
  if (!match) throw new Error(`this page must be opened at /experiments/<id>/run, not ${location.pathname}`);
  const base = match[1];
  const query = new URLSearchParams(location.search);
  const token = query.get("token") ?? "";
  if (!token) throw new HubRefusal("This link has no participation token; please use the full link you were given.", 401, "UNAUTHENTICATED");
  // Prolific's parameters travel with the session request, which is where the hub stores them.
  const prolific = new URLSearchParams();
  for (const name of ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"]) {
    const value = query.get(name);
    if (value) prolific.set(name, value);
  }
  const headers = { "x-participation-token": token };

  async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: "no-store",
        });
      } catch {
        // Network down: wait and try again (1, 2, 4, ... 16 s), telling the participant.
        onRetry(attempt + 1);
        await new Promise((resolve) => setTimeout(resolve, Math.min(16_000, 1000 * 2 ** attempt)));
        continue;
      }
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = undefined;
      }
      if (res.ok && parsed !== undefined) return parsed as T;
      if (res.status >= 500 || res.status === 429) {
        onRetry(attempt + 1);
        await new Promise((resolve) => setTimeout(resolve, Math.min(16_000, 1000 * 2 ** attempt)));
        continue;
      }
      const error = (parsed as { errors?: { message?: string; extensions?: { code?: string } }[] } | undefined)?.errors?.[0];
      throw new HubRefusal(error?.message ?? `the hub answered HTTP ${res.status}`, res.status, error?.extensions?.code);
    }
  }

  return {
    token,
    session: () => call<Session>("GET", `/session${prolific.toString() ? `?${prolific}` : ""}`),
    record: (response) => call<RecordResult>("POST", "/responses", response),
    complete: () => call<Completion>("POST", "/complete", {}),
    // An <img>/preload request cannot carry a header: stimuli take the token in the query.
    stimulusUrl: (key) => `${base}/stimuli/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`,
  };
}
