// The one custom jsPsych plugin: a frame-accurate trial. Vision: fixation -> image -> noise mask, each for a whole
// number of display frames, then one button per response option. Audio: the clip (or the headphone check's three
// tones) on the Web Audio clock, then the answer (a word typed with suggestions from the label list, or one of three
// buttons). The answer is posted to the hub before the trial ends, so a closed tab loses nothing already answered.
import { ParameterType, type JsPsych, type JsPsychPlugin, type TrialType } from "jspsych";
import type { RecordResult, SessionTrial, TrialResponse } from "./api.js";
import { clip, play, type Played } from "./audio.js";
import { framesFor, measureRefresh, presentSteps, type Refresh } from "./frames.js";
import { escapeHtml } from "./html.js";
import { isColour, noiseMask } from "./noise.js";

const info = {
  name: "metamer-trial",
  version: "1.0.0",
  parameters: {
    /** The trial as the hub sent it (index, phase, options, timing, practice feedback label). */
    trial: { type: ParameterType.COMPLEX, default: undefined },
    modality: { type: ParameterType.STRING, default: "IMAGE" },
    /** Token-scoped URL of the stimulus (for a headphone trial, its three tones as one WAV). */
    stimulus_url: { type: ParameterType.STRING, default: "" },
    /** Posts the answer; resolves when the hub has stored it. */
    submit: { type: ParameterType.FUNCTION, default: undefined },
    /** Seed of this trial's noise mask. */
    mask_seed: { type: ParameterType.INT, default: 1 },
  },
  data: {
    hub_trial_index: { type: ParameterType.INT },
    phase: { type: ParameterType.STRING },
    response: { type: ParameterType.STRING },
    rt: { type: ParameterType.FLOAT },
    onset_ms: { type: ParameterType.FLOAT },
    offset_ms: { type: ParameterType.FLOAT },
    stimulus_frames: { type: ParameterType.INT },
    target_frames: { type: ParameterType.INT },
    refresh_hz: { type: ParameterType.FLOAT },
    recorded: { type: ParameterType.BOOL },
    screening_failed: { type: ParameterType.BOOL },
  },
} as const;

type Info = typeof info;

/** Longest side of a shown image in CSS pixels; small images are scaled up by a whole factor so pixels stay square. */
const DISPLAY_PX = 320;

export class MetamerTrialPlugin implements JsPsychPlugin<Info> {
  static info = info;
  /** Measured once per page load, before the first trial (see `measure`). */
  private static refresh: Refresh | undefined;

  constructor(private readonly jsPsych: JsPsych) {}

  /** Measures the display's refresh rate (once); the page calls it early, while nothing else is animating. */
  static async measure(): Promise<Refresh> {
    MetamerTrialPlugin.refresh ??= await measureRefresh();
    return MetamerTrialPlugin.refresh;
  }

  async trial(display: HTMLElement, params: TrialType<Info>) {
    const trial = params.trial as SessionTrial;
    const submit = params.submit as (r: TrialResponse) => Promise<RecordResult>;
    const refresh = await MetamerTrialPlugin.measure();
    display.innerHTML = "";
    const root = el("div", "mh-trial");
    root.dataset.trialIndex = String(trial.index);
    root.dataset.phase = trial.phase;
    display.append(root);

    let shown: { onset: number; offset: number; frames: number; target: number; responseOnset: number };
    let answer: { response: string; at: number };
    if (params.modality === "AUDIO" || trial.phase === "headphone") {
      const played = await this.playSound(root, trial, params);
      const responseOnset = performance.now();
      answer = trial.phase === "headphone" ? await buttons(root, trial.options, "Which tone was the quietest?") : await typedWord(root, trial.options);
      // A sound's duration is counted in display frames too (one unit for every trial); onset and offset come from
      // the audio clock, which played it sample-accurately.
      const frames = Math.round((played.offset - played.onset) / refresh.frameMs);
      shown = { onset: played.onset, offset: played.offset, frames, target: frames, responseOnset };
    } else {
      shown = await this.showImage(root, trial, params, refresh);
      answer = await buttons(root, trial.options, "What did you see?");
    }

    const saving = setTimeout(() => root.append(el("p", "mh-saving", "Saving your answer…")), 400);
    const result = await submit({
      trialIndex: trial.index,
      response: answer.response,
      rtMs: Math.max(0, answer.at - shown.responseOnset),
      onsetMs: shown.onset,
      offsetMs: shown.offset,
      stimulusFrames: shown.frames,
      refreshHz: refresh.hz,
    });
    clearTimeout(saving);

    if (trial.feedbackLabel !== undefined) await feedback(root, answer.response === trial.feedbackLabel, trial.feedbackLabel);
    return {
      hub_trial_index: trial.index,
      phase: trial.phase,
      response: answer.response,
      rt: answer.at - shown.responseOnset,
      onset_ms: shown.onset,
      offset_ms: shown.offset,
      stimulus_frames: shown.frames,
      target_frames: shown.target,
      refresh_hz: refresh.hz,
      recorded: result.recorded,
      screening_failed: result.screeningFailed ?? false,
    };
  }

  /** Fixation, image, mask on frame boundaries; resolves when the response buttons may appear. */
  private async showImage(root: HTMLElement, trial: SessionTrial, params: TrialType<Info>, refresh: Refresh) {
    const img = new Image();
    img.src = params.stimulus_url ?? "";
    img.alt = "";
    // Decoded before the fixation starts, so showing it costs no time inside a frame.
    await img.decode();
    const longest = Math.max(img.naturalWidth, img.naturalHeight);
    const scale = longest >= DISPLAY_PX ? DISPLAY_PX / longest : Math.floor(DISPLAY_PX / longest);
    const [w, h] = [img.naturalWidth * scale, img.naturalHeight * scale];
    const mask = noiseMask(img.naturalWidth, img.naturalHeight, params.mask_seed ?? 1, isColour(img));
    const stage = el("div", "mh-stage");
    stage.style.width = `${w}px`;
    stage.style.height = `${h}px`;
    const cross = el("div", "mh-fixation", "+");
    for (const layer of [img, mask]) {
      layer.classList.add("mh-layer");
      layer.style.width = `${w}px`;
      layer.style.height = `${h}px`;
    }
    for (const layer of [cross, img, mask]) layer.style.visibility = "hidden";
    stage.append(cross, img, mask);
    root.append(stage);
    const only = (layer: HTMLElement | null) => () => {
      for (const l of [cross, img, mask]) l.style.visibility = l === layer ? "visible" : "hidden";
      root.dataset.showing = layer === cross ? "fixation" : layer === img ? "stimulus" : layer === mask ? "mask" : "response";
    };
    const t = trial.timing;
    const target = framesFor(t.stimulusMs, refresh);
    const run = await presentSteps(
      [
        { show: only(cross), frames: framesFor(t.fixationMs, refresh) },
        { show: only(img), frames: target },
        { show: only(mask), frames: framesFor(t.maskMs, refresh) },
      ],
      { show: only(null) },
      refresh,
    );
    const s = run.steps[1];
    return { onset: s.onset, offset: s.offset, frames: s.frames, target, responseOnset: run.end };
  }

  /** The clip (or the headphone check's tones) with a "listen" sign, on the audio clock. */
  private async playSound(root: HTMLElement, trial: SessionTrial, params: TrialType<Info>): Promise<Played> {
    const buffer = await clip(params.stimulus_url ?? "");
    const sign = el("div", "mh-listen", "♪ Listen…");
    root.append(sign);
    root.dataset.showing = "fixation";
    // The design's fixation time is a pause before the sound, so it never starts the instant the screen changes.
    await new Promise((resolve) => setTimeout(resolve, trial.timing.fixationMs));
    root.dataset.showing = "stimulus";
    const played = await play(buffer);
    sign.remove();
    root.dataset.showing = "response";
    return played;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One button per option; resolves with the clicked one and the click's time on the performance clock. */
function buttons(root: HTMLElement, options: string[], prompt: string): Promise<{ response: string; at: number }> {
  return new Promise((resolve) => {
    const box = el("div", "mh-responses");
    if (prompt) box.append(el("p", "mh-prompt", prompt));
    const grid = el("div", "mh-buttons");
    // A square-ish grid: 16 options as 4 x 4, 10 as 4 + 4 + 2.
    grid.style.gridTemplateColumns = `repeat(${Math.min(options.length, Math.ceil(Math.sqrt(options.length)))}, minmax(4em, auto))`;
    for (const option of options) {
      const b = el("button", "jspsych-btn mh-option", option);
      b.type = "button";
      b.dataset.option = option;
      b.addEventListener("click", (event) => {
        for (const other of grid.querySelectorAll("button")) other.disabled = true;
        b.classList.add("mh-chosen");
        resolve({ response: option, at: event.timeStamp });
      });
      grid.append(b);
    }
    box.append(grid);
    root.append(box);
  });
}

/**
 * A typed word, with suggestions from the label list as the participant types (prefix matches first); only a word of
 * the list can be submitted, written as the list writes it.
 */
function typedWord(root: HTMLElement, options: string[]): Promise<{ response: string; at: number }> {
  return new Promise((resolve) => {
    const form = el("form", "mh-typed");
    form.append(el("p", "mh-prompt", "What did you hear? Type the word and choose it from the list."));
    const input = el("input", "mh-word");
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    const list = el("ul", "mh-suggestions");
    const ok = el("button", "jspsych-btn mh-submit", "Continue");
    ok.type = "submit";
    ok.disabled = true;
    const normal = (s: string) => s.trim().toLowerCase();
    const exact = () => options.find((o) => normal(o) === normal(input.value));
    const refreshList = () => {
      const q = normal(input.value);
      list.innerHTML = "";
      if (q) {
        const starts = options.filter((o) => normal(o).startsWith(q));
        const contains = options.filter((o) => !normal(o).startsWith(q) && normal(o).includes(q));
        for (const o of [...starts, ...contains].slice(0, 8)) {
          const item = el("li", "mh-suggestion", o);
          item.dataset.option = o;
          item.addEventListener("mousedown", (event) => {
            event.preventDefault();
            input.value = o;
            refreshList();
          });
          list.append(item);
        }
      }
      ok.disabled = exact() === undefined;
    };
    input.addEventListener("input", refreshList);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const word = exact();
      if (word === undefined) return;
      input.disabled = true;
      ok.disabled = true;
      resolve({ response: word, at: event.timeStamp });
    });
    form.append(input, ok, list);
    root.append(form);
    input.focus();
  });
}

/** Practice feedback: the right answer marked among the (now disabled) choices, and a line saying right or wrong. */
async function feedback(root: HTMLElement, correct: boolean, label: string): Promise<void> {
  for (const b of root.querySelectorAll<HTMLButtonElement>("button.mh-option")) {
    if (b.dataset.option === label) b.classList.add("mh-answer");
  }
  const note = el("div", `mh-feedback ${correct ? "mh-correct" : "mh-wrong"}`);
  note.innerHTML = correct ? "Correct!" : `Not quite: it was <b>${escapeHtml(label)}</b>.`;
  root.dataset.showing = "feedback";
  root.querySelector(".mh-responses, .mh-typed")?.before(note);
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
