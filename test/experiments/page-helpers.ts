// A simulated participant for the participant page (src/web/participant): real headless Chromium (Debian's), driven
// like a person would: it clicks through the screens it sees and answers each trial when the response buttons (or
// the word field) appear, choosing by a rule over the trial's hidden truth, which the test reads from the database.
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import type { StoredTrial } from "../../src/services/experiments/types.js";

const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`expected Debian's chromium at ${CHROMIUM} (apt-get install -y chromium), found nothing there`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** What the page shows that the participant can act on (evaluated in the page). */
type Screen =
  | { kind: "done"; status: string; text: string }
  | { kind: "error"; text: string; code: string }
  | { kind: "trial"; index: number; phase: string; typed: boolean }
  | { kind: "fullscreen" }
  | { kind: "instructions" }
  | { kind: "button"; choices: string[] };

/* eslint-disable @typescript-eslint/no-explicit-any */
// Runs inside the page (a function, not a string: the page's CSP forbids eval). No DOM types in the tests' tsconfig.
function readScreen(): Screen | null {
  const document = (globalThis as any).document;
  const done = document.querySelector("[data-completed]");
  if (done) return { kind: "done", status: done.getAttribute("data-completed"), text: done.textContent };
  const err = document.querySelector(".mh-error");
  if (err) return { kind: "error", text: err.textContent, code: err.getAttribute("data-code") };
  const trial = document.querySelector(".mh-trial");
  if (trial) {
    if (trial.getAttribute("data-showing") !== "response") return null;
    const typed = trial.querySelector("input.mh-word:not([disabled])");
    const button = trial.querySelector("button.mh-option:not([disabled])");
    if (!typed && !button) return null;
    return { kind: "trial", index: Number(trial.getAttribute("data-trial-index")), phase: trial.getAttribute("data-phase"), typed: !!typed };
  }
  if (document.querySelector("#jspsych-fullscreen-btn")) return { kind: "fullscreen" };
  if (document.querySelector("#jspsych-instructions-next")) return { kind: "instructions" };
  const buttons = [...document.querySelectorAll("#jspsych-html-button-response-btngroup button:not([disabled])")] as any[];
  if (buttons.length) return { kind: "button", choices: buttons.map((b) => b.textContent) };
  return null;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The buttons a willing participant presses on the screens between trials. */
const PROCEED = ["I agree", "Start", "Continue", "The volume is fine"];

export interface Answered {
  index: number;
  phase: string;
  response: string;
}

export interface RunOptions {
  /** The participant's stored trial list (the hidden truth). */
  trials: StoredTrial[];
  /** The answer to give on a trial. */
  answer(trial: StoredTrial): string;
  /** Stop (as when the tab closes) once this many trials have been answered in this run. */
  stopAfter?: number;
  /** Called on each trial's response screen before answering (screenshots). */
  onResponseScreen?(page: Page, trial: StoredTrial): Promise<void>;
}

export interface RunResult {
  answered: Answered[];
  /** How the run ended: the completion page, an error page, or the stop after `stopAfter` answers. */
  end: { kind: "done"; status: string; text: string } | { kind: "error"; text: string; code: string } | { kind: "stopped" };
}

/** The page's own errors (uncaught exceptions, console errors), to show when a test fails. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return errors;
}

/** Plays the participant on an open page until the completion page, an error, or `stopAfter` answers. */
export async function participate(page: Page, options: RunOptions, timeoutMs = 600_000): Promise<RunResult> {
  const answered: Answered[] = [];
  const deadline = Date.now() + timeoutMs;
  const byIndex = new Map(options.trials.map((t) => [t.index, t]));
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the participant got stuck: no completion within ${timeoutMs} ms (answered ${answered.length})`);
    const screen = (await (await page.waitForFunction(readScreen, undefined, { polling: 20, timeout: 60_000 })).jsonValue()) as Screen;
    if (screen.kind === "done" || screen.kind === "error") return { answered, end: screen };
    if (screen.kind === "fullscreen") {
      await page.click("#jspsych-fullscreen-btn");
      await page.locator("#jspsych-fullscreen-btn").waitFor({ state: "detached" });
    } else if (screen.kind === "instructions") {
      await page.click("#jspsych-instructions-next");
      await page.locator("#jspsych-instructions-next").waitFor({ state: "detached" });
    } else if (screen.kind === "button") {
      const choice = screen.choices.find((c) => PROCEED.includes(c.trim()));
      if (!choice) throw new Error(`a screen offers ${screen.choices.join(" / ")}: no button a willing participant would press`);
      const button = page.locator("#jspsych-html-button-response-btngroup button", { hasText: choice }).first();
      await button.click();
      await button.waitFor({ state: "detached" });
    } else {
      const trial = byIndex.get(screen.index);
      if (!trial) throw new Error(`the page shows trial ${screen.index}, which is not in the participant's list`);
      if (trial.phase !== screen.phase) throw new Error(`trial ${screen.index} shown as ${screen.phase}, stored as ${trial.phase}`);
      await options.onResponseScreen?.(page, trial);
      const response = options.answer(trial);
      const posted = page.waitForResponse((r) => r.url().endsWith("/responses") && r.request().method() === "POST");
      const current = page.locator(`.mh-trial[data-trial-index="${screen.index}"]`);
      if (screen.typed) {
        // Types the beginning of the word and picks it from the suggestions, as the page asks.
        await page.fill("input.mh-word", response.slice(0, Math.max(1, Math.ceil(response.length / 2))));
        await page.locator(`li.mh-suggestion[data-option="${response}"]`).click();
        await page.click("button.mh-submit");
      } else {
        await page.locator(`button.mh-option[data-option="${response}"]`).click();
      }
      const res = await posted;
      if (!res.ok()) throw new Error(`posting the answer to trial ${screen.index} failed: HTTP ${res.status()} ${await res.text()}`);
      answered.push({ index: screen.index, phase: screen.phase, response });
      if (options.stopAfter !== undefined && answered.length >= options.stopAfter) return { answered, end: { kind: "stopped" } };
      await current.waitFor({ state: "detached" });
    }
  }
}
