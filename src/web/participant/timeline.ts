// The session's timeline, built from what the hub sent: preload, browser check, fullscreen, instructions and consent
// (or a welcome-back screen when resuming), then every trial not yet answered, in the design's order, with a short
// introduction wherever the phase changes (practice, headphone check, screening, main trials).
import BrowserCheckPlugin from "@jspsych/plugin-browser-check";
import CallFunctionPlugin from "@jspsych/plugin-call-function";
import FullscreenPlugin from "@jspsych/plugin-fullscreen";
import HtmlButtonResponsePlugin from "@jspsych/plugin-html-button-response";
import InstructionsPlugin from "@jspsych/plugin-instructions";
import PreloadPlugin from "@jspsych/plugin-preload";
import type { JsPsych } from "jspsych";
import type { HubClient, Phase, RecordResult, Session } from "./api.js";
import { calibrationTone, play, resumeAudio } from "./audio.js";
import { paragraphs } from "./html.js";
import { MetamerTrialPlugin } from "./trial-plugin.js";

export interface PageState {
  /** Set when the hub says the screening failed: the timeline stops and the completion step reports it. */
  screeningFailed: boolean;
  /** The participant declined the consent: nothing more happens. */
  declined: boolean;
  answered: number;
}

const introductions: Record<Phase, (s: Session) => string> = {
  practice: () =>
    "<h2>Practice</h2><p>First a few practice trials. After each answer you will see whether it was right.</p>" +
    "<p>Look at the cross in the middle of the screen; the picture appears there briefly, followed by a pattern of noise. Then choose what you saw.</p>",
  headphone: () =>
    "<h2>Headphone check</h2><p>You will hear three tones. Choose the one that was <b>quietest</b>.</p>" +
    "<p>Please wear headphones for the whole experiment.</p>",
  demo: (s) =>
    `<h2>Check</h2><p>The next ${s.screening.demoTrials} trials work the same way, without feedback. To continue to the experiment, at least ${s.screening.minCorrect} of them must be answered correctly.</p>`,
  main: (s) =>
    `<h2>The experiment</h2><p>Now the experiment itself: ${s.trials.filter((t) => t.phase === "main" || t.phase === "catch").length} trials, no feedback. Some ${s.modality === "AUDIO" ? "sounds" : "pictures"} may be hard to recognise; give your best guess.</p>`,
  catch: (s) => introductions.main(s),
};

/** Main and catch trials are interleaved: both belong to the main part. */
const section = (phase: Phase) => (phase === "catch" ? "main" : phase);

/** One element of the array jsPsych.run takes. */
type TimelineItem = Extract<Parameters<JsPsych["run"]>[0], unknown[]>[number];

export function buildTimeline(jsPsych: JsPsych, hub: HubClient, session: Session, state: PageState) {
  const answered = new Set(session.answeredTrialIndices);
  const remaining = session.trials.filter((t) => !answered.has(t.index)).sort((a, b) => a.index - b.index);
  const resuming = answered.size > 0;
  const total = session.trials.length;
  state.answered = answered.size;
  const audio = session.modality === "AUDIO";
  const stimuli = [...new Set(remaining.map((t) => hub.stimulusUrl(t.stimulusKey)))];

  // The bar exists once jsPsych.run has built the page; it counts answered trials (resumed sessions start part-way).
  const showProgress = () => {
    if (jsPsych.progressBar) jsPsych.progressBar.progress = state.answered / total;
  };
  const timeline: TimelineItem[] = [
    {
      type: PreloadPlugin,
      images: audio ? [] : stimuli,
      audio: audio ? stimuli : [],
      message: "<p>Loading…</p>",
      show_progress_bar: true,
      continue_after_error: false,
      error_message: "<p>Some files could not be loaded. Please check your connection and reload this page.</p>",
    },
    {
      type: BrowserCheckPlugin,
      // No webcam/microphone probes: they would ask for permissions this experiment does not need.
      features: ["width", "height", "webaudio", "browser", "browser_version", "mobile", "os", "fullscreen", "vsync_rate"],
      minimum_width: 640,
      minimum_height: 480,
      inclusion_function: (data: { mobile: boolean; webaudio: boolean }) => !data.mobile && (!audio || data.webaudio),
      exclusion_message: () =>
        `<p>Sorry: this experiment needs a desktop or laptop computer${audio ? " whose browser can play sound (Web Audio)" : ""}.</p>`,
    },
    {
      type: FullscreenPlugin,
      message: "<p>The experiment runs in full screen. Press the button to switch.</p>",
      button_label: "Full screen",
      delay_after: 300,
    },
    // The refresh rate, measured while the screen is still, so that durations can be counted in frames.
    {
      type: CallFunctionPlugin,
      async: true,
      func: (done: (v: unknown) => void) => {
        showProgress();
        void MetamerTrialPlugin.measure().then((r) => done(r));
      },
    },
  ];

  if (!resuming) {
    timeline.push({
      type: InstructionsPlugin,
      pages: [`<div class="mh-text">${paragraphs(session.instructions)}</div>`],
      show_clickable_nav: true,
      button_label_next: "Next",
    });
    timeline.push({
      type: HtmlButtonResponsePlugin,
      stimulus: `<div class="mh-text mh-consent"><h2>Consent</h2>${paragraphs(session.consent)}</div>`,
      choices: ["I agree", "I do not agree"],
      on_finish: (data: { response: number }) => {
        if (data.response !== 0) {
          state.declined = true;
          jsPsych.abortExperiment();
        }
      },
    });
  } else {
    timeline.push({
      type: HtmlButtonResponsePlugin,
      stimulus: `<div class="mh-text"><h2>Welcome back</h2><p>You have answered ${answered.size} of ${total} trials. You will continue where you left off.</p></div>`,
      choices: ["Continue"],
    });
  }
  if (audio) {
    timeline.push({
      timeline: [
        {
          type: HtmlButtonResponsePlugin,
          stimulus:
            '<div class="mh-text"><h2>Sound level</h2><p>Put on your headphones. Press <b>Play</b> to hear the tones used in the check, and set a comfortable volume.</p></div>',
          choices: ["Play", "The volume is fine"],
          on_finish: (data: { response: number }) => {
            resumeAudio();
            if (data.response === 0) void play(calibrationTone());
          },
        },
      ],
      // Play comes back to this screen until the participant says the level is fine.
      loop_function: (data: { values(): { response: number }[] }) => data.values()[0]?.response === 0,
    });
  }

  const submit = async (response: Parameters<HubClient["record"]>[0]): Promise<RecordResult> => {
    const result = await hub.record(response);
    // A replay (an answer the hub already had) does not move the bar.
    if (result.recorded) state.answered++;
    showProgress();
    if (result.screeningFailed) {
      state.screeningFailed = true;
      // Ends the session after this trial; the completion step says why.
      jsPsych.abortExperiment();
    }
    return result;
  };

  let previous: string | undefined;
  for (const trial of remaining) {
    const part = section(trial.phase);
    if (part !== previous) {
      timeline.push({ type: HtmlButtonResponsePlugin, stimulus: `<div class="mh-text">${introductions[trial.phase](session)}</div>`, choices: ["Start"], on_finish: audio ? resumeAudio : undefined });
      previous = part;
    }
    timeline.push({
      type: MetamerTrialPlugin,
      trial,
      modality: session.modality,
      stimulus_url: hub.stimulusUrl(trial.stimulusKey),
      submit,
      mask_seed: trial.index + 1,
    });
  }
  return timeline;
}
