// The participant's side of an experiment (ParticipationService) on a real database: a whole session answered by a
// script, replay and forgery refused, screening exclusion, token-scoped stimuli, the stored results.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";

let app: TestApp;
let ctx: RequestContext;
let fx: ExperimentFixture;

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp) {
  const e = await p.then(() => null, (err: unknown) => err as { code?: string; message: string });
  expect(e, `expected ${code}`).not.toBeNull();
  expect(e!.code).toBe(code);
  if (message) expect(e!.message).toMatch(message);
}

const answerFor = (t: StoredTrial, correct: boolean) => (correct ? t.correctLabel : t.options.find((o) => o !== t.correctLabel)!);
const timing = (i: number) => ({ rtMs: 500 + i, onsetMs: 1000 * i, offsetMs: 1000 * i + 300, stimulusFrames: 18, refreshHz: 60 });

beforeAll(async () => {
  app = await startTestApp();
  const { groupId } = await app.createGroupWithKey("lab-participation", "MEMBER");
  ctx = { groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
  fx = await createExperimentFixture(app.store, groupId, { stimuli: 24, extraStimuli: 44, failEvery: 7 });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe("participation", () => {
  it("runs a whole session, refuses replays and forgeries, and stores what the participant answered", async () => {
    const { experiment, links } = await app.services.experiments.create(ctx, {
      name: "vision pilot", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 3,
      completionUrl: "https://app.prolific.com/submissions/complete?cc=C0DE", completionCode: "C0DE",
    });
    expect(links).toHaveLength(2);
    expect(links[0].url).toContain(`/experiments/${experiment.id}/run?token=${links[0].token}`);
    const p = app.services.participation;
    const token = links[0].token;

    const start = await p.startParticipation(token, { pid: "5f1a2b3c4d5e6f7a8b9c0d1e", studyId: "study1", sessionId: "sess1" });
    expect(start.modality).toBe("IMAGE");
    expect(start.timing).toMatchObject({ fixationMs: 300, stimulusMs: 300, maskMs: 300, practiceFixationMs: 500, practiceStimulusMs: 400, practiceMaskMs: 400 });
    expect(start.screening).toEqual({ demoTrials: 12, minCorrect: 7 });
    expect(start.trials).toHaveLength(16 + 12 + 24 + 16);
    expect(start.answeredTrialIndices).toEqual([]);
    // Nothing the page receives names a model, a stage, a stimulus or a metamer.
    const json = JSON.stringify(start);
    for (const id of [...fx.models.map((m) => m.id), ...fx.stimuli.map((s) => s.id), ...fx.metamers.keys()]) expect(json).not.toContain(id);
    for (const t of start.trials) {
      expect(Object.keys(t).sort()).toEqual(t.phase === "practice" ? ["feedbackLabel", "index", "options", "phase", "stimulusKey", "timing"] : ["index", "options", "phase", "stimulusKey", "timing"]);
    }
    expect(start.trials.filter((t) => t.phase === "practice").map((t) => t.timing.stimulusMs)).toEqual([...Array(8).fill(400), ...Array(8).fill(300)]);

    await expectCode(p.startParticipation("x".repeat(43)), "UNAUTHENTICATED");
    await expectCode(p.startParticipation("not a token"), "UNAUTHENTICATED");
    await expectCode(p.recordResponse("y".repeat(43), { trialIndex: 0, response: "cat", ...timing(0) }), "UNAUTHENTICATED");

    const stored = (await app.store.experiments.participants(experiment.id))[0];
    expect(stored.prolificPid).toBe("5f1a2b3c4d5e6f7a8b9c0d1e");
    const trials = stored.trials as StoredTrial[];
    // A main trial before the screening trials is refused, and so is an answer that is not an option.
    const firstMain = trials.find((t) => t.phase === "main")!;
    await expectCode(p.recordResponse(token, { trialIndex: firstMain.index, response: firstMain.correctLabel, ...timing(0) }), "BAD_USER_INPUT", /screening trials come first/);
    await expectCode(p.recordResponse(token, { trialIndex: 0, response: "zebra", ...timing(0) }), "BAD_USER_INPUT", /expected one of the options/);
    await expectCode(p.recordResponse(token, { trialIndex: 9999, response: "cat", ...timing(0) }), "BAD_USER_INPUT", /trialIndex/);

    // The script: right on practice, demo, catch and natural trials; on metamer trials right when the index is even.
    const rule = (t: StoredTrial) => t.phase !== "main" || t.condition === "natural" || t.index % 2 === 0;
    const half = Math.floor(trials.length / 2);
    for (const t of trials.slice(0, half)) {
      expect(await p.recordResponse(token, { trialIndex: t.index, response: answerFor(t, rule(t)), ...timing(t.index) })).toEqual({ recorded: true });
    }
    // The tab closes and reopens: nothing answered is lost, a replayed answer is not recorded twice.
    const again = await p.startParticipation(token);
    expect(again.answeredTrialIndices).toEqual(trials.slice(0, half).map((t) => t.index));
    expect(await p.recordResponse(token, { trialIndex: 0, response: answerFor(trials[0], false), ...timing(0) })).toEqual({ recorded: false });
    for (const t of trials.slice(half)) await p.recordResponse(token, { trialIndex: t.index, response: answerFor(t, rule(t)), ...timing(t.index) });

    const done = await p.completeParticipation(token);
    expect(done).toEqual({ excluded: false, redirectUrl: "https://app.prolific.com/submissions/complete?cc=C0DE", completionCode: "C0DE" });
    await expectCode(p.startParticipation(token), "FORBIDDEN", /already used/);
    await expectCode(p.completeParticipation(token), "FORBIDDEN", /already used/);
    await expectCode(p.recordResponse(token, { trialIndex: 1, response: "cat", ...timing(1) }), "FORBIDDEN");
    await expectCode(p.stimulusForToken(token, trials[0].stimulusKey), "FORBIDDEN");

    const responses = await app.store.experiments.responses(stored.id);
    expect(responses).toHaveLength(trials.length);
    expect(responses[0].correct).toBe(true); // the replay did not overwrite the first answer
    expect(responses.find((r) => r.trialIndex === 5)).toMatchObject({ rtMs: 505, onsetMs: 5000, offsetMs: 5300, frames: 18, refreshHz: 60 });

    // HumanScore rows: per condition, the proportion the script answered right, and the generator's accuracy on the same metamers.
    const rows = await app.store.metricsExport.participantScores(fx.models.map((m) => m.id));
    const mine = rows.filter((r) => r.experiment === experiment.id && r.participant === "p1");
    const scored = trials.filter((t) => t.phase === "main" && !t.shownNatural);
    for (const m of fx.models) {
      for (const stage of [...m.stages, "natural"]) {
        const cond = stage === "natural" ? "natural" : `${m.id}/${stage}`;
        const ts = scored.filter((t) => t.condition === cond);
        if (ts.length === 0) continue;
        const human = ts.filter(rule).length / ts.length;
        const network = ts.filter((t) => fx.recognitions.get(`${m.id}|${t.metamerId ?? t.stimulusId}`)).length / ts.length;
        expect(mine.find((r) => r.modelId === m.id && r.stage === stage && r.observer === "HUMAN")?.value).toBeCloseTo(human, 12);
        expect(mine.find((r) => r.modelId === m.id && r.stage === stage && r.observer === "NETWORK")?.value).toBeCloseTo(network, 12);
      }
    }
    expect(mine.length).toBe(2 * (fx.models.length * 2 + fx.models.length));
  });

  it("excludes a participant who fails the screening and refuses its further answers", async () => {
    const { experiment, links } = await app.services.experiments.create(ctx, {
      name: "screening", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 1, seed: 4,
      completionUrl: "https://example.org/done", screenedOutUrl: "https://example.org/screened-out", screenedOutCode: "NOPE",
    });
    const p = app.services.participation;
    const token = links[0].token;
    await p.startParticipation(token);
    const trials = (await app.store.experiments.participants(experiment.id))[0].trials as StoredTrial[];
    const demo = trials.filter((t) => t.phase === "demo");
    let last: { recorded: boolean; screeningFailed?: boolean } | null = null;
    for (const t of trials.filter((x) => x.phase === "practice")) await p.recordResponse(token, { trialIndex: t.index, response: t.correctLabel, ...timing(t.index) });
    for (const [i, t] of demo.entries()) last = await p.recordResponse(token, { trialIndex: t.index, response: answerFor(t, i < 6), ...timing(t.index) });
    expect(last).toEqual({ recorded: true, screeningFailed: true });
    const main = trials.find((t) => t.phase === "main")!;
    await expectCode(p.recordResponse(token, { trialIndex: main.index, response: main.correctLabel, ...timing(0) }), "FORBIDDEN", /excluded/);
    await expectCode(p.startParticipation(token), "FORBIDDEN", /excluded/);
    const done = await p.completeParticipation(token);
    expect(done).toEqual({ excluded: true, reason: "failed screening: 6 of 12 demo trials correct, at least 7 needed", redirectUrl: "https://example.org/screened-out", completionCode: "NOPE" });
    const row = (await app.store.experiments.participants(experiment.id))[0];
    expect(row.status).toBe("EXCLUDED");
    expect(row.exclusionReason).toMatch(/failed screening/);
    const scores = await app.store.metricsExport.participantScores(fx.models.map((m) => m.id));
    expect(scores.filter((r) => r.experiment === experiment.id)).toEqual([]);
  });

  it("excludes at completion for low catch accuracy and for unanswered trials", async () => {
    const { experiment, links } = await app.services.experiments.create(ctx, {
      name: "catch", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 5, catchThreshold: 0.75,
    });
    const p = app.services.participation;
    const lists = (await app.store.experiments.participants(experiment.id)).map((r) => r.trials as StoredTrial[]);
    // p1: every catch trial after the 11th wrong (11/16 < 0.75); p2: leaves the last trial unanswered.
    let catches = 0;
    for (const t of lists[0]) await p.recordResponse(links[0].token, { trialIndex: t.index, response: answerFor(t, t.phase !== "catch" || ++catches <= 11), ...timing(t.index) });
    for (const t of lists[1].slice(0, -1)) await p.recordResponse(links[1].token, { trialIndex: t.index, response: t.correctLabel, ...timing(t.index) });
    expect(await p.completeParticipation(links[0].token)).toMatchObject({ excluded: true, reason: "catch trials: 11 of 16 correct (0.688), below the threshold 0.75" });
    expect(await p.completeParticipation(links[1].token)).toMatchObject({ excluded: true, reason: `incomplete: ${lists[1].length - 1} of ${lists[1].length} trials answered` });
  });

  it("serves each trial's file by an opaque per-participant key only", async () => {
    const { experiment, links } = await app.services.experiments.create(ctx, { name: "files", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 6 });
    const lists = (await app.store.experiments.participants(experiment.id)).map((r) => r.trials as StoredTrial[]);
    const p = app.services.participation;
    const metamerTrial = lists[0].find((t) => t.metamerId)!;
    const naturalTrial = lists[0].find((t) => t.phase === "main" && !t.metamerId)!;
    const got = await p.stimulusForToken(links[0].token, metamerTrial.stimulusKey);
    const sha = (await app.store.experiments.metamerRendering(metamerTrial.metamerId!))!;
    expect(got.contentType).toBe("image/png");
    expect(Buffer.from(got.bytes).equals(Buffer.from((await app.store.blobs.get(sha))!))).toBe(true);
    const nat = await p.stimulusForToken(links[0].token, naturalTrial.stimulusKey);
    const file = (await app.store.experiments.stimulusFile(naturalTrial.stimulusId!))!;
    expect(Buffer.from(nat.bytes).equals(Buffer.from((await app.store.blobs.get(file.sha256))!))).toBe(true);
    // Keys are per participant: another participant's key is unknown to this link.
    await expectCode(p.stimulusForToken(links[1].token, metamerTrial.stimulusKey), "NOT_FOUND");
    await expectCode(p.stimulusForToken(links[0].token, "nope"), "NOT_FOUND");
    expect(new Set(lists.flat().map((t) => t.stimulusKey)).size).toBe(lists.flat().length);
  });
});

describe("audio participation", () => {
  it("runs the headphone check first and excludes a participant who fails it", async () => {
    const { groupId } = await app.createGroupWithKey("lab-audio", "MEMBER");
    const actx: RequestContext = { groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
    const afx = await createExperimentFixture(app.store, groupId, { modality: "AUDIO", stimuli: 12, extraStimuli: 40, models: 1 });
    const { experiment, links } = await app.services.experiments.create(actx, { name: "audio", stimulusSetId: afx.setId, batchIds: afx.batchIds, participants: 2, seed: 1 });
    const p = app.services.participation;
    const start = await p.startParticipation(links[0].token);
    expect(start.modality).toBe("AUDIO");
    expect(start.timing.clipMs).toBe(2000);
    expect(start.trials.slice(0, 6).map((t) => t.phase)).toEqual(Array(6).fill("headphone"));
    expect(start.trials.filter((t) => t.phase === "demo")).toHaveLength(22);
    const wav = await p.stimulusForToken(links[0].token, start.trials[0].stimulusKey);
    expect(wav.contentType).toBe("audio/wav");
    expect(Buffer.from(wav.bytes.subarray(0, 4)).toString("ascii")).toBe("RIFF");
    const lists = (await app.store.experiments.participants(experiment.id)).map((r) => r.trials as StoredTrial[]);
    // Typed answers: case and spaces do not matter.
    const demo = lists[1].find((t) => t.phase === "demo")!;
    const hp = lists[0].filter((t) => t.phase === "headphone");
    let last = null;
    for (const [i, t] of hp.entries()) last = await p.recordResponse(links[0].token, { trialIndex: t.index, response: answerFor(t, i < 4), ...timing(i) });
    expect(last).toEqual({ recorded: true, screeningFailed: true });
    expect(await p.completeParticipation(links[0].token)).toMatchObject({ excluded: true, reason: "failed the headphone check: 4 of 6 correct, at least 5 needed" });
    for (const t of lists[1].filter((x) => x.phase === "headphone")) await p.recordResponse(links[1].token, { trialIndex: t.index, response: t.correctLabel, ...timing(0) });
    expect(await p.recordResponse(links[1].token, { trialIndex: demo.index, response: `  ${demo.correctLabel.toUpperCase()} `, ...timing(0) })).toEqual({ recorded: true });
    expect((await app.store.experiments.responses((await app.store.experiments.participants(experiment.id))[1].id)).at(-1)).toMatchObject({ response: demo.correctLabel, correct: true });
  });
});

describe("entry URL (one study URL for every participant) and closing", () => {
  it("gives each Prolific id one place, resumes it on a second visit, refuses when full, closed or spent", async () => {
    const created = await app.services.experiments.create(ctx, { name: "entry", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 3, seed: 8 });
    const other = await app.services.experiments.create(ctx, { name: "entry-other", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 1, seed: 8 });
    const id = created.experiment.id;
    expect(created.entryUrl).toMatch(new RegExp(`/experiments/${id}/run\\?entry=[A-Za-z0-9_-]{43}$`));
    const entry = new URL(created.entryUrl).searchParams.get("entry")!;
    const p = app.services.participation;

    const a = await p.claimParticipation(id, entry, { pid: "aaaaaaaaaaaaaaaaaaaaaaaa", studyId: "st", sessionId: "s1" });
    const started = await p.startParticipation(a.token);
    expect(started.participantId).toBe(a.participantId);
    // A second visit of the same Prolific id resumes its place with a fresh token; the first token is spent.
    const again = await p.claimParticipation(id, entry, { pid: "aaaaaaaaaaaaaaaaaaaaaaaa", sessionId: "s2" });
    expect(again.participantId).toBe(a.participantId);
    await expectCode(p.startParticipation(a.token), "UNAUTHENTICATED");
    expect((await p.startParticipation(again.token)).participantId).toBe(a.participantId);

    const b = await p.claimParticipation(id, entry, { pid: "bbbbbbbbbbbbbbbbbbbbbbbb" });
    expect(b.participantId).not.toBe(a.participantId);
    await expectCode(p.claimParticipation(id, entry, {}), "BAD_USER_INPUT", /PROLIFIC_PID/);
    await expectCode(p.claimParticipation(id, "z".repeat(43), { pid: "cccccccccccccccccccccccc" }), "UNAUTHENTICATED");
    await expectCode(p.claimParticipation(other.experiment.id, entry, { pid: "cccccccccccccccccccccccc" }), "UNAUTHENTICATED");
    // The link of the third place was handed out and used: the entry URL does not take it over.
    await p.startParticipation(created.links[2].token);
    await expectCode(p.claimParticipation(id, entry, { pid: "cccccccccccccccccccccccc" }), "FORBIDDEN", /every place of this experiment is taken/);

    // A participant who ended cannot come back through the entry URL.
    expect(await p.completeParticipation(again.token)).toMatchObject({ excluded: true, reason: expect.stringMatching(/^incomplete/) });
    await expectCode(p.claimParticipation(id, entry, { pid: "aaaaaaaaaaaaaaaaaaaaaaaa" }), "FORBIDDEN", /already took part/);
    const rows = await app.store.experiments.participants(id);
    expect(rows.find((r) => r.id === a.participantId)).toMatchObject({ prolificPid: "aaaaaaaaaaaaaaaaaaaaaaaa", prolificSessionId: "s2" });

    // Closed: no new place, no pending link; a participant under way may finish.
    const closed = await app.services.experiments.close(ctx, other.experiment.id);
    expect(closed.status).toBe("CLOSED");
    await expectCode(p.startParticipation(other.links[0].token), "FORBIDDEN", /closed/);
    const otherEntry = new URL(other.entryUrl).searchParams.get("entry")!;
    await expectCode(p.claimParticipation(other.experiment.id, otherEntry, { pid: "dddddddddddddddddddddddd" }), "FORBIDDEN", /closed/);
    await app.services.experiments.close(ctx, id);
    const trial = (rows.find((r) => r.id === b.participantId)!.trials as StoredTrial[])[0];
    expect(await p.recordResponse(b.token, { trialIndex: 0, response: trial.correctLabel, ...timing(0) })).toEqual({ recorded: true });
  });
});
