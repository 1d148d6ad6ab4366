// The participant page in real headless Chromium against the whole service: a simulated participant passes the
// screening, answers every trial (right on natural trials, by a rule elsewhere), closes the tab midway and reopens the
// link (nothing lost, nothing repeated), finishes, and what the hub stored equals what it answered; a second
// participant (on a flaky network: answers lost and retried) fails the screening and is excluded with the reason; the
// stimulus durations the first recorded, in frames, match the design's.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";
import { launchChromium, pageErrors, participate, type Answered } from "./page-helpers.js";
// @ts-expect-error a plain .mjs build script (no type declarations)
import { buildParticipantPage } from "../../scripts/build-participant-page.mjs";

let app: TestApp;
let ctx: RequestContext;
let key: string;
let fx: ExperimentFixture;
let browser: Browser;

const wrongAnswer = (t: StoredTrial) => t.options.find((o) => o !== t.correctLabel)!;

beforeAll(async () => {
  await buildParticipantPage();
  [app, browser] = await Promise.all([startTestApp(), launchChromium()]);
  const issued = await app.createGroupWithKey("lab-page", "MEMBER");
  const groupId = issued.groupId;
  key = issued.key;
  ctx = { groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
  // 48 source stimuli: with the demo and the second half of the practice, over 50 trials of 300 ms to time.
  fx = await createExperimentFixture(app.store, groupId, { stimuli: 48, extraStimuli: 12, models: 1, failEvery: 5 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe("participant page", () => {
  it("runs a whole session in Chromium, resumes after the tab closes, and stores exactly what was answered", async () => {
    const { experiment, links, entryUrl } = await app.services.experiments.create(ctx, {
      name: "page pilot", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 11,
      practiceTrials: 4, demoTrials: 6, minDemoCorrect: 4, catchTrials: 4,
      completionUrl: "https://app.prolific.com/submissions/complete?cc=PAGE1", completionCode: "PAGE1",
    });
    // The first participant comes through the study's entry URL, as from Prolific (which fills in its parameters).
    const pid = "5f1a2b3c4d5e6f7a8b9c0d1e";
    const entry = `${entryUrl}&PROLIFIC_PID=${pid}&STUDY_ID=study7&SESSION_ID=sess7`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The completion page sends the participant back to Prolific: answered here instead of on the network.
    await context.route("https://app.prolific.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<p>prolific</p>" }));
    let page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(entry);
    // The entry URL gave this participant a place and a token of its own.
    expect(page.url()).toMatch(/\/run\?token=[A-Za-z0-9_-]{43}&PROLIFIC_PID=/);
    const first = (await app.store.experiments.participants(experiment.id)).find((p) => p.prolificPid === pid)!;
    const trials = first.trials as StoredTrial[];
    // Right on every natural trial (practice, demo, catch, natural main trials); on metamer trials right when the
    // trial's index is even.
    const rule = (t: StoredTrial) => t.phase !== "main" || t.condition === "natural" || t.index % 2 === 0;
    const answer = (t: StoredTrial) => (rule(t) ? t.correctLabel : wrongAnswer(t));
    const half = Math.floor(trials.length / 2);
    const before = await participate(page, { trials, answer, stopAfter: half });
    expect({ end: before.end, errors }).toEqual({ end: { kind: "stopped" }, errors: [] });
    await page.close();

    // Everything answered before the tab closed is stored.
    const stored = await app.store.experiments.responses(first.id);
    expect(stored.map((r) => r.trialIndex).sort((a, b) => a - b)).toEqual(before.answered.map((a) => a.index).sort((a, b) => a - b));

    // Back through the entry URL (the study link clicked again): the same place, resumed.
    page = await context.newPage();
    const errorsAfter = pageErrors(page);
    await page.goto(entry);
    const tokenUrl = page.url();
    const after = await participate(page, { trials, answer });
    expect({ end: after.end, errors: errorsAfter }).toMatchObject({ end: { kind: "done", status: "completed" }, errors: [] });
    if (after.end.kind === "done") expect(after.end.text).toContain("PAGE1");
    // The reopened page started after the last answered trial: no trial twice, none left out, in the design's order.
    const all: Answered[] = [...before.answered, ...after.answered];
    expect(all.map((a) => a.index)).toEqual(trials.map((t) => t.index));
    await page.waitForURL(/app\.prolific\.com/, { timeout: 15_000 });
    // The spent link, and the entry URL for the same Prolific id, now only say why they do not open.
    const spentPage = await context.newPage();
    await spentPage.goto(tokenUrl);
    const spent = await participate(spentPage, { trials, answer });
    expect(spent.end).toMatchObject({ kind: "error", code: "FORBIDDEN" });
    if (spent.end.kind === "error") expect(spent.end.text).toMatch(/already used/);
    const refused = await spentPage.goto(entry);
    expect(refused!.status()).toBe(403);
    expect(await spentPage.textContent(".mh-error")).toMatch(/already took part/);
    await context.close();

    const responses = await app.store.experiments.responses(first.id);
    expect(new Map(responses.map((r) => [r.trialIndex, r.response]))).toEqual(new Map(all.map((a) => [a.index, a.response])));
    const participant = (await app.store.experiments.participants(experiment.id)).find((p) => p.id === first.id);
    expect(participant).toMatchObject({ status: "COMPLETED", prolificPid: pid, prolificStudyId: "study7", prolificSessionId: "sess7" });

    // The results, through the API (experimentResults' aggregate CSV): per condition, the proportion the script
    // answered correctly on the main trials that showed that condition (metamers shown natural instead are left out).
    const expected = new Map<string, { n: number; correct: number }>();
    for (const t of trials.filter((t) => t.phase === "main" && !t.shownNatural)) {
      const e = expected.get(t.condition!) ?? { n: 0, correct: 0 };
      e.n++;
      if (all.find((a) => a.index === t.index)!.response === t.correctLabel) e.correct++;
      expected.set(t.condition!, e);
    }
    const results = await app.gql(`query($id: ID!) { experimentResults(id: $id) { aggregateCsv } }`, { id: experiment.id }, key);
    expect(results.errors).toBeUndefined();
    const [header, ...rows] = (results.data.experimentResults.aggregateCsv as string).trim().split("\n").map((line) => line.split(","));
    const col = (name: string) => header.indexOf(name);
    const mine = rows.filter((r) => r[col("participant")] === first.label);
    expect(mine.length).toBe(expected.size);
    for (const r of mine) {
      const e = expected.get(r[col("condition")])!;
      expect({ condition: r[col("condition")], n: Number(r[col("n")]), correct: Number(r[col("n_correct")]), p: Number(r[col("proportion_correct")]) })
        .toEqual({ condition: r[col("condition")], n: e.n, correct: e.correct, p: expect.closeTo(e.correct / e.n, 6) });
    }

    // ...and through the resolvers every human score goes through (one code path with imported studies): with this
    // participant the only one done so far, each model's HUMAN recognizability at a stage is its proportion.
    for (const [condition, e] of expected) {
      if (condition === "natural") continue;
      const [modelId, stage] = condition.split("/");
      const r = await app.gql(`query($m: ID!, $s: String!) { recognizability(modelId: $m, stage: $s, observer: HUMAN, resamples: 100) { mean n } }`, { m: modelId, s: stage }, key);
      expect(r.errors).toBeUndefined();
      expect({ condition, ...r.data.recognizability }).toEqual({ condition, mean: expect.closeTo(e.correct / e.n, 9), n: 1 });
    }

    // Timing: every 300 ms stimulus, in frames of the measured refresh rate, as the design asks.
    const byIndex = new Map(trials.map((t) => [t.index, t]));
    const timed = responses.filter((r) => byIndex.get(r.trialIndex)!.timing.stimulusMs === 300);
    const target = (hz: number) => Math.round(300 / (1000 / hz));
    const onTarget = timed.filter((r) => r.frames === target(r.refreshHz));
    const histogram = new Map<number, number>();
    for (const r of timed) histogram.set(r.frames, (histogram.get(r.frames) ?? 0) + 1);
    const durations = timed.map((r) => r.offsetMs - r.onsetMs).sort((a, b) => a - b);
    console.log(
      `[page timing] ${timed.length} trials of 300 ms at ${timed[0].refreshHz.toFixed(2)} Hz (target ${target(timed[0].refreshHz)} frames): ` +
        `frames ${[...histogram].sort((a, b) => a[0] - b[0]).map(([f, n]) => `${f}: ${n}`).join(", ")}; ` +
        `duration min ${durations[0].toFixed(1)} / median ${durations[durations.length >> 1].toFixed(1)} / max ${durations[durations.length - 1].toFixed(1)} ms`,
    );
    expect(timed.length).toBeGreaterThanOrEqual(50);
    expect(onTarget.length / timed.length).toBeGreaterThanOrEqual(0.95);

    // A second participant misses the demo trials: the page stops at the screening and the hub excludes it.
    const second = (await app.store.experiments.participants(experiment.id)).find((p) => p.id !== first.id)!;
    const secondTrials = second.trials as StoredTrial[];
    const context2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context2.route("https://app.prolific.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<p>prolific</p>" }));
    const page2 = await context2.newPage();
    // A flaky network on its first answer: the post reaches the hub but its answer is lost, then a retry is lost on
    // the way; the page keeps retrying, and the hub keeps the answer once.
    let lost = 0;
    await page2.route("**/responses", async (route) => {
      if (lost === 0) {
        lost++;
        await route.fetch();
        return route.abort("connectionreset");
      }
      if (lost === 1) {
        lost++;
        return route.abort("internetdisconnected");
      }
      return route.continue();
    });
    await page2.goto(links.find((l) => l.participantId === second.id)!.url);
    const failed = await participate(page2, { trials: secondTrials, answer: (t) => (t.phase === "demo" ? wrongAnswer(t) : t.correctLabel) });
    expect(lost).toBe(2);
    const secondResponses = await app.store.experiments.responses(second.id);
    expect(secondResponses.map((r) => [r.trialIndex, r.response])).toEqual(failed.answered.map((a) => [a.index, a.response]));
    expect(failed.end).toMatchObject({ kind: "done", status: "excluded" });
    expect(failed.answered.some((a) => a.phase === "main" || a.phase === "catch")).toBe(false);
    const excluded = (await app.store.experiments.participants(experiment.id)).find((p) => p.id === second.id)!;
    expect(excluded.status).toBe("EXCLUDED");
    expect(excluded.exclusionReason).toMatch(/screening/i);
    if (failed.end.kind === "done") expect(failed.end.text).toContain(excluded.exclusionReason!);
    await context2.close();
  }, 600_000);
});
