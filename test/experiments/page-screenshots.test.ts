// What a participant sees, checked on screenshots from headless Chromium: during the stimulus frames the screen shows
// exactly the served image (scaled by a whole factor, pixels square), during the mask frames a grey noise mask of the
// same size, and the completion page shows the completion code. The screenshots (a practice trial, a main trial's
// stimulus, its mask, the completion page) are the README's; set PAGE_SCREENSHOTS_DIR=docs/images to refresh them.
// Stimuli: MNIST test digits (the demo's split); the "metamers" are the digits with seeded noise added, stand-ins
// written through the store, since this test is about the page, not synthesis.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digitPng, pickTestDigits, readSplit } from "../../src/demo/digits.js";
import { SeededRandom } from "../../src/engine/index.js";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { REPO_ROOT } from "../helpers/constants.js";
import { launchChromium, pageErrors, participate } from "./page-helpers.js";
// @ts-expect-error a plain .mjs build script (no type declarations)
import { buildParticipantPage } from "../../scripts/build-participant-page.mjs";

let app: TestApp;
let browser: Browser;
let dir: string;

/** A set of MNIST digits (one per class), one model, one batch of stand-in metamers (the digit plus noise). */
async function digitsExperimentSource(groupId: string) {
  const store = app.store;
  const digits = pickTestDigits(readSplit(path.join(REPO_ROOT, "models", "demo")), 1);
  const labels = digits.map((d) => d.label);
  const set = await store.stimuli.createSet({ groupId, name: "digits", modality: "IMAGE", classLabels: labels, sampleRate: null });
  const items = [];
  for (const d of digits) {
    const blob = await store.blobs.put(await digitPng(d.pixels), "image/png");
    items.push({ label: d.label, filename: `digit-${d.label}.png`, contentType: "image/png", sha256: blob.sha256, tensors: [] });
  }
  const added = await store.stimuli.addStimuli(set, items);
  const onnx = await store.blobs.put(Uint8Array.from([9, 9, 9, 9]), "application/onnx");
  const model = await store.models.create(
    {
      groupId, name: "digits-model", modality: "IMAGE", sha256: onnx.sha256, byteSize: 4, opset: 17, inputName: "x",
      inputShape: [1, 1, 28, 28], inputRange: [0, 1], sampleRate: null, outputName: "logits", classLabels: labels,
      training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
    },
    [{ name: "fc", label: null, shape: [1, 10], producerOp: "Relu", order: 0, differentiable: true, unsupportedOps: [] }],
  );
  const batch = await store.jobs.createBatch({ groupId, modelId: model.id, config: {}, seed: 0, idempotencyKey: null, configHash: "screenshots" });
  const sources = added.slice(0, 6);
  const jobs = await store.jobs.enqueue(sources.map((s) => ({ kind: "SYNTHESIS" as const, groupId, batchId: batch.id, modelId: model.id, stimulusId: s.id, stage: "fc" })));
  const rng = new SeededRandom(3);
  for (let j = 0; j < sources.length; j++) {
    const noisy = Float32Array.from(digits[j].pixels, (v) => Math.min(1, Math.max(0, v + (rng.next() - 0.5) * 0.6)));
    const blob = await store.blobs.put(await digitPng(noisy), "image/png");
    await store.metamers.create({
      jobId: jobs[j].id, groupId, modelId: model.id, stimulusId: sources[j].id, stage: "fc", seed: 0, config: {}, history: [], certificate: {},
      passed: true, tensorSha256: blob.sha256, renderingSha256: blob.sha256, sha256: blob.sha256, softwareVersions: {},
    });
  }
  return { setId: set.id, batchIds: [batch.id] };
}

/** RGB pixels of a PNG scaled by `scale` with nearest-neighbour sampling (as the page scales a stimulus). */
async function rgb(png: Buffer, scale = 1): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  return sharp(png).removeAlpha().toColourspace("srgb").resize(meta.width! * scale, meta.height! * scale, { kernel: "nearest" }).raw().toBuffer();
}

/**
 * The `size` x `size` square of an element screenshot that shows the element's pixels: the element may sit at a
 * fractional position, making the screenshot one pixel larger; the crop that best matches `reference` is taken.
 */
async function square(shot: Buffer, size: number, reference: Buffer): Promise<{ data: Buffer; width: number; height: number; diff: number }> {
  const meta = await sharp(shot).metadata();
  let best: { data: Buffer; width: number; height: number; diff: number } | undefined;
  for (let top = 0; top <= meta.height! - size; top++) {
    for (let left = 0; left <= meta.width! - size; left++) {
      const data = await sharp(shot).removeAlpha().toColourspace("srgb").extract({ left, top, width: size, height: size }).raw().toBuffer();
      const diff = meanAbsDiff(data, reference);
      if (!best || diff < best.diff) best = { data, width: meta.width!, height: meta.height!, diff };
    }
  }
  if (!best) throw new Error(`the screenshot is ${meta.width} x ${meta.height} px, smaller than the ${size} px expected`);
  return best;
}

const meanAbsDiff = (a: Buffer, b: Buffer) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;

beforeAll(async () => {
  await buildParticipantPage();
  [app, browser] = await Promise.all([startTestApp(), launchChromium()]);
  dir = mkdtempSync(path.join(tmpdir(), "participant-page-"));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("participant page, what is on screen", () => {
  it("shows the served image during the stimulus frames, a noise mask after it, and the completion code", async () => {
    const { groupId } = await app.createGroupWithKey("lab-screenshots", "MEMBER");
    const ctx: RequestContext = { groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
    const source = await digitsExperimentSource(groupId);
    // Long stimulus and mask durations, so a screenshot (which takes a few frames) lands inside each.
    const { experiment, links } = await app.services.experiments.create(ctx, {
      name: "digits", stimulusSetId: source.setId, batchIds: source.batchIds, participants: 1, seed: 2,
      practiceTrials: 2, demoTrials: 2, minDemoCorrect: 1, catchTrials: 1, completionCode: "DIGITS-42",
      timing: { fixationMs: 300, stimulusMs: 1500, maskMs: 1500, practiceFixationMs: 300, practiceStimulusMs: 1500, practiceMaskMs: 1500 },
      instructions: "On each trial a digit appears briefly, followed by a noise mask.\n\nChoose the digit you saw.",
    });
    const trials = (await app.store.experiments.participants(experiment.id))[0].trials as StoredTrial[];
    const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
    const errors = pageErrors(page);
    await page.goto(links[0].url);

    // Watches the first main trial while the participant plays: its stimulus, then its mask.
    const firstMain = trials.find((t) => t.phase === "main")!;
    const stage = page.locator(`.mh-trial[data-trial-index="${firstMain.index}"] .mh-stage`);
    const watcher = (async () => {
      await page.locator(`.mh-trial[data-trial-index="${firstMain.index}"][data-showing="stimulus"]`).waitFor({ timeout: 300_000 });
      const stimulusShot = await stage.screenshot();
      await page.screenshot({ path: path.join(dir, "participant-main.png") });
      await page.locator(`.mh-trial[data-trial-index="${firstMain.index}"][data-showing="mask"]`).waitFor();
      const maskShot = await stage.screenshot();
      await page.screenshot({ path: path.join(dir, "participant-mask.png") });
      // The file the hub serves for this trial (while the link is still open: completion spends it).
      const served = await fetch(`${app.url}/experiments/${experiment.id}/stimuli/${firstMain.stimulusKey}?token=${links[0].token}`);
      expect(served.status).toBe(200);
      return { stimulusShot, maskShot, servedPng: Buffer.from(await served.arrayBuffer()) };
    })();
    // The first practice trial is answered wrongly: its feedback marks the right answer.
    const firstPractice = trials.find((t) => t.phase === "practice")!;
    const practice = (async () => {
      const feedback = page.locator(`.mh-trial[data-trial-index="${firstPractice.index}"][data-showing="feedback"]`);
      await feedback.waitFor({ timeout: 300_000 });
      await page.screenshot({ path: path.join(dir, "participant-practice.png") });
      return feedback.locator("button.mh-answer").textContent();
    })();
    const run = await participate(page, {
      trials,
      answer: (t) => (t === firstPractice ? t.options.find((o) => o !== t.correctLabel)! : t.correctLabel),
    });
    expect({ end: run.end, errors }).toMatchObject({ end: { kind: "done", status: "completed" }, errors: [] });
    await page.screenshot({ path: path.join(dir, "participant-complete.png") });
    if (run.end.kind === "done") expect(run.end.text).toContain("DIGITS-42");
    const { stimulusShot, maskShot, servedPng } = await watcher;
    expect(await practice).toBe(firstPractice.correctLabel);

    // The stimulus on screen is the served file, scaled by a whole factor (28 px -> 11 x 28 = 308 CSS px).
    const expected = await rgb(servedPng, 11);
    const shown = await square(stimulusShot, 308, expected);
    expect(Math.max(shown.width, shown.height)).toBeLessThanOrEqual(309);
    expect(shown.diff).toBeLessThan(2);
    // The mask: same size, grey (the digits are grey), and nothing like the stimulus.
    const mask = await square(maskShot, 308, expected);
    expect(Math.max(mask.width, mask.height)).toBeLessThanOrEqual(309);
    expect(mask.diff).toBeGreaterThan(40);
    for (let i = 0; i < mask.data.length; i += 3) expect(mask.data[i] === mask.data[i + 1] && mask.data[i] === mask.data[i + 2]).toBe(true);

    const out = process.env.PAGE_SCREENSHOTS_DIR;
    if (out) {
      mkdirSync(out, { recursive: true });
      for (const name of ["participant-practice.png", "participant-main.png", "participant-mask.png", "participant-complete.png"]) {
        copyFileSync(path.join(dir, name), path.join(out, name));
      }
    }
  }, 300_000);
});
