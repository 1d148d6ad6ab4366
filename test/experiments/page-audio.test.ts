// An audio experiment on the participant page, in headless Chromium: the headphone check (6 antiphase loudness
// trials, their tones served by the hub and played with Web Audio), demo clips, then every clip answered by typing
// the word and picking it from the suggestions; what the hub stored equals what was answered, and a listener who
// fails the headphone check is excluded before any clip of the experiment.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";
import { launchChromium, pageErrors, participate } from "./page-helpers.js";
// @ts-expect-error a plain .mjs build script (no type declarations)
import { buildParticipantPage } from "../../scripts/build-participant-page.mjs";

let app: TestApp;
let ctx: RequestContext;
let fx: ExperimentFixture;
let browser: Browser;

const wrongAnswer = (t: StoredTrial) => t.options.find((o) => o !== t.correctLabel)!;

beforeAll(async () => {
  await buildParticipantPage();
  [app, browser] = await Promise.all([startTestApp(), launchChromium()]);
  const { groupId } = await app.createGroupWithKey("lab-page-audio", "MEMBER");
  ctx = { groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
  fx = await createExperimentFixture(app.store, groupId, {
    modality: "AUDIO", stimuli: 6, extraStimuli: 6, models: 1, stages: ["fc"], labels: ["bird", "bell", "car horn", "dog"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe("participant page, audio", () => {
  it("runs the headphone check and typed answers in Chromium, and excludes a listener who fails the check", async () => {
    const { experiment, links } = await app.services.experiments.create(ctx, {
      name: "audio pilot", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 4,
      headphoneTrials: 6, headphoneMinCorrect: 5, demoTrials: 3, minDemoCorrect: 2, catchTrials: 2, completionCode: "AUDIO1",
    });
    const [first, second] = await app.store.experiments.participants(experiment.id);
    const trials = first.trials as StoredTrial[];
    expect(trials.filter((t) => t.phase === "headphone")).toHaveLength(6);
    const rule = (t: StoredTrial) => t.phase !== "main" || t.condition === "natural" || t.index % 2 === 1;

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(links[0].url);
    const run = await participate(page, { trials, answer: (t) => (rule(t) ? t.correctLabel : wrongAnswer(t)) });
    expect({ end: run.end, errors }).toMatchObject({ end: { kind: "done", status: "completed" }, errors: [] });
    if (run.end.kind === "done") expect(run.end.text).toContain("AUDIO1");
    expect(run.answered.map((a) => a.index)).toEqual(trials.map((t) => t.index));
    const responses = await app.store.experiments.responses(first.id);
    expect(new Map(responses.map((r) => [r.trialIndex, r.response]))).toEqual(new Map(run.answered.map((a) => [a.index, a.response])));
    // What was played, on the audio clock mapped to the page's (the mapping moves in steps of the audio callback, about
    // 10 ms here): a headphone trial is 3 tones of 1 s and 2 gaps of 0.5 s; a clip is 0.1 s.
    const byIndex = new Map(trials.map((t) => [t.index, t]));
    const errorsMs = responses.map((r) => r.offsetMs - r.onsetMs - (byIndex.get(r.trialIndex)!.phase === "headphone" ? 4000 : 100));
    console.log(`[page audio] played minus expected duration, ms: ${errorsMs.map((e) => e.toFixed(1)).join(", ")}`);
    for (const e of errorsMs) expect(Math.abs(e)).toBeLessThan(20);
    expect((await app.store.experiments.participants(experiment.id))[0].status).toBe("COMPLETED");
    await context.close();

    // Over loudspeakers the antiphase tone sounds quietest: a listener who picks it fails the check.
    const secondTrials = second.trials as StoredTrial[];
    const context2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page2 = await context2.newPage();
    await page2.goto(links[1].url);
    const speakers = await participate(page2, {
      trials: secondTrials,
      answer: (t) => (t.phase === "headphone" ? String(t.headphone!.antiphase + 1) : t.correctLabel),
    });
    expect(speakers.end).toMatchObject({ kind: "done", status: "excluded" });
    expect(speakers.answered.every((a) => a.phase === "headphone")).toBe(true);
    const excluded = (await app.store.experiments.participants(experiment.id))[1];
    expect(excluded.status).toBe("EXCLUDED");
    expect(excluded.exclusionReason).toMatch(/headphone/i);
    await context2.close();
  }, 300_000);
});
