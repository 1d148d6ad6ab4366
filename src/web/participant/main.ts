// The participant page's entry point (bundled to .cache/participant-page/app.js): asks the hub for the session
// (new or resumed), runs the jsPsych timeline, then ends the participation and shows the completion page.
import { initJsPsych } from "jspsych";
import { HubRefusal, hubFromLocation, type Completion } from "./api.js";
import { escapeHtml } from "./html.js";
import { buildTimeline, type PageState } from "./timeline.js";

const root = document.getElementById("mh-root")!;

function message(html: string): void {
  root.innerHTML = `<div class="mh-text mh-message">${html}</div>`;
}

function completionPage(done: Completion): void {
  const code = done.completionCode ? `<p>Your completion code: <b class="mh-code">${escapeHtml(done.completionCode)}</b></p>` : "";
  const link = done.redirectUrl ? `<p><a class="jspsych-btn mh-continue" href="${escapeHtml(done.redirectUrl)}">Continue</a></p>` : "";
  const head = done.excluded
    ? `<h2>Thank you</h2><p>This session has ended early${done.reason ? `: ${escapeHtml(done.reason)}` : ""}.</p>`
    : "<h2>Thank you!</h2><p>You have finished the experiment.</p>";
  message(`${head}${code}${link}${done.redirectUrl ? "<p>You will be taken back automatically in a few seconds.</p>" : ""}`);
  root.querySelector(".mh-message")!.setAttribute("data-completed", done.excluded ? "excluded" : "completed");
  if (done.redirectUrl) setTimeout(() => window.location.assign(done.redirectUrl!), 5000);
}

async function main(): Promise<void> {
  let retries = 0;
  const hub = hubFromLocation(window.location, (attempt) => {
    retries = attempt;
    document.body.dataset.retrying = String(attempt);
  });
  const session = await hub.session();
  const state: PageState = { screeningFailed: false, declined: false, answered: 0 };
  const jsPsych = initJsPsych({
    display_element: root,
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: "Progress",
  });
  const timeline = buildTimeline(jsPsych, hub, session, state);
  await jsPsych.run(timeline);
  if (state.declined) {
    message("<h2>Thank you</h2><p>You chose not to take part. You can close this page.</p>");
    return;
  }
  if (document.fullscreenElement) await document.exitFullscreen().catch(() => undefined);
  // Finished or screened out: either way the hub closes the participation and says where to go.
  const done = await hub.complete();
  document.body.dataset.retries = String(retries);
  completionPage(done);
}

main().catch((e: unknown) => {
  const text = e instanceof HubRefusal ? e.message : "Something went wrong. Please reload the page; your answers so far are saved.";
  message(`<h2>Sorry</h2><p class="mh-error" data-code="${escapeHtml(e instanceof HubRefusal ? (e.code ?? "") : "ERROR")}">${escapeHtml(text)}</p>`);
  console.error(e);
});
