// Imports of trial data run elsewhere: the same answers imported as a jsPsych CSV, a jsPsych JSON or a PsychoJS CSV
// give the same HumanScore rows as when posted by the page; bad files name the row and column and import nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";

let app: TestApp;
let key: string;
let ctx: RequestContext;
let fx: ExperimentFixture;

interface Answer {
  participant: string;
  trialIndex: number;
  response: string;
  rt: number;
  onsetMs: number;
  offsetMs: number;
  stimulusFrames: number;
  refreshHz: number;
}

const IMPORT = `mutation($i: ImportExperimentResponsesInput!) { importExperimentResponses(input: $i) { participants responses completed excluded skippedRows } }`;

/** The answers a scripted participant gives: right on all but metamer trials whose index is divisible by 3. */
function script(label: string, trials: StoredTrial[]): Answer[] {
  return trials.map((t) => {
    const right = t.phase !== "main" || t.condition === "natural" || t.index % 3 !== 0;
    return { participant: label, trialIndex: t.index, response: right ? t.correctLabel : t.options.find((o) => o !== t.correctLabel)!, rt: 300 + t.index, onsetMs: 10 * t.index, offsetMs: 10 * t.index + 300.5, stimulusFrames: 18, refreshHz: 60 };
  });
}

/** A CSV as jsPsych.data.get().csv() writes it: every field quoted, the union of the trials' fields, non-trial rows too. */
function jsPsychCsv(answers: Answer[]): string {
  const q = (v: unknown) => `"${String(v ?? "").replace(/"/g, '""')}"`;
  const header = ["rt", "stimulus", "response", "trial_type", "trial_index", "time_elapsed", "internal_node_id", "participant", "trialIndex", "onsetMs", "offsetMs", "stimulusFrames", "refreshHz"];
  const lines = [header.map(q).join(",")];
  lines.push([1200, "<p>Welcome, press a key</p>", "", "html-keyboard-response", 0, 1200, "0.0-0.0", answers[0].participant, "", "", "", "", ""].map(q).join(","));
  answers.forEach((a, k) => {
    lines.push([a.rt, "<img src=\"x\">", a.response, "html-button-response", k + 1, 2000 + k, "0.0-1.0", a.participant, a.trialIndex, a.onsetMs, a.offsetMs, a.stimulusFrames, a.refreshHz].map(q).join(","));
  });
  return lines.join("\r\n");
}

async function experimentPair(name: string, participants = 2) {
  const make = () => app.services.experiments.create(ctx, { name, stimulusSetId: fx.setId, batchIds: fx.batchIds, participants, seed: 77 });
  return [await make(), await make()];
}

async function scoresOf(experimentId: string) {
  const rows = await app.store.metricsExport.participantScores(fx.models.map((m) => m.id));
  return rows.filter((r) => r.experiment === experimentId).map(({ experiment: _e, ...r }) => r).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

beforeAll(async () => {
  app = await startTestApp();
  const g = await app.createGroupWithKey("lab-exp-imports", "MEMBER");
  key = g.key;
  ctx = { groupId: g.groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
  fx = await createExperimentFixture(app.store, g.groupId, { stimuli: 20, extraStimuli: 44, failEvery: 6 });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe("imports", () => {
  it("a jsPsych CSV, a jsPsych JSON and a PsychoJS CSV of the same answers give the HumanScore rows the page's posts gave", async () => {
    const make = () => app.services.experiments.create(ctx, { name: "same", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 2, seed: 77 });
    const [posted, csv, json, psychojs] = [await make(), await make(), await make(), await make()];
    const lists = (await app.store.experiments.participants(posted.experiment.id)).map((p) => p.trials as StoredTrial[]);
    // Same inputs and seed, same trial lists.
    const csvLists = (await app.store.experiments.participants(csv.experiment.id)).map((p) => p.trials as StoredTrial[]);
    expect(csvLists.map((l) => l.map(({ stimulusKey: _k, ...t }) => t))).toEqual(lists.map((l) => l.map(({ stimulusKey: _k, ...t }) => t)));

    const answers = lists.flatMap((trials, p) => script(`p${p + 1}`, trials));
    for (let p = 0; p < 2; p++) {
      for (const a of answers.filter((x) => x.participant === `p${p + 1}`)) {
        await app.services.participation.recordResponse(posted.links[p].token, { trialIndex: a.trialIndex, response: a.response, rtMs: a.rt, onsetMs: a.onsetMs, offsetMs: a.offsetMs, stimulusFrames: a.stimulusFrames, refreshHz: a.refreshHz });
      }
      await app.services.participation.completeParticipation(posted.links[p].token);
    }
    const expected = await scoresOf(posted.experiment.id);
    expect(expected.length).toBe(2 * 2 * 3 * 2);

    const r1 = await app.gql(IMPORT, { i: { experimentId: csv.experiment.id, format: "JSPSYCH_CSV", data: jsPsychCsv(answers) } }, key);
    expect(r1.errors).toBeUndefined();
    expect(r1.data.importExperimentResponses).toEqual({ participants: 2, responses: answers.length, completed: 2, excluded: 0, skippedRows: 1 });
    expect(await scoresOf(csv.experiment.id)).toEqual(expected);
    // The stored responses are the posted ones too.
    const stored = async (id: string) => (await app.store.experiments.experimentResponses(id)).map(({ participantId: _p, createdAt: _c, ...r }) => r);
    expect(await stored(csv.experiment.id)).toEqual(await stored(posted.experiment.id));

    // jsPsych JSON with its own names for our fields (a column mapping), the response as the button's index.
    const records = answers.map((a) => {
      const t = lists[Number(a.participant.slice(1)) - 1][a.trialIndex];
      return { subject: a.participant, design_index: a.trialIndex, button: t.options.indexOf(a.response), rt: a.rt, onsetMs: a.onsetMs, offsetMs: a.offsetMs, stimulusFrames: a.stimulusFrames, refreshHz: a.refreshHz, trial_type: "html-button-response" };
    });
    const r2 = await app.gql(IMPORT, { i: { experimentId: json.experiment.id, format: "JSPSYCH_JSON", data: JSON.stringify(records), responseAsIndex: true, columns: { participant: "subject", trialIndex: "design_index", response: "button" } } }, key);
    expect(r2.errors).toBeUndefined();
    expect(await scoresOf(json.experiment.id)).toEqual(expected);

    // PsychoJS/Pavlovia: key_resp.keys and key_resp.rt in seconds, unquoted fields.
    const lines = ["participant,trials.thisN,trialIndex,key_resp.keys,key_resp.rt,onsetMs,offsetMs,stimulusFrames,refreshHz,date"];
    answers.forEach((a, k) => lines.push([a.participant, k, a.trialIndex, a.response, a.rt / 1000, a.onsetMs, a.offsetMs, a.stimulusFrames, a.refreshHz, "2026-11-29_14h00"].join(",")));
    const r3 = await app.gql(IMPORT, { i: { experimentId: psychojs.experiment.id, format: "PSYCHOJS_CSV", data: lines.join("\n") } }, key);
    expect(r3.errors).toBeUndefined();
    expect(await scoresOf(psychojs.experiment.id)).toEqual(expected);
  });

  it("refuses bad files naming the row and column, and imports nothing", async () => {
    const [{ experiment, links }] = await experimentPair("bad", 2);
    const lists = (await app.store.experiments.participants(experiment.id)).map((p) => p.trials as StoredTrial[]);
    const answers = lists.flatMap((trials, p) => script(`p${p + 1}`, trials));
    const refuse = async (data: string, message: RegExp, extra: Record<string, unknown> = {}) => {
      const r = await app.gql(IMPORT, { i: { experimentId: experiment.id, format: "JSPSYCH_CSV", data, ...extra } }, key);
      expect(r.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
      expect(r.errors?.[0].message).toMatch(message);
    };
    // Row 1 is the header, row 2 jsPsych's instructions trial, answers[k] is row k + 3; the last answer is not an option.
    const wrong = answers.map((a, k) => (k === answers.length - 1 ? { ...a, response: "zebra" } : a));
    await refuse(jsPsychCsv(wrong), new RegExp(`^row ${answers.length + 2}, column 'response': expected one of trial ${answers.at(-1)!.trialIndex}'s options .* got 'zebra'`));
    await refuse(jsPsychCsv(answers.map((a, k) => (k === 3 ? { ...a, participant: "p9" } : a))), /^row 6, column 'participant': expected a participant of this experiment/);
    await refuse(jsPsychCsv(answers.map((a, k) => (k === 4 ? { ...a, rt: "fast" as unknown as number } : a))), /^row 7, column 'rt': expected a non-negative number, got 'fast'/);
    await refuse(jsPsychCsv([...answers, answers[0]]), new RegExp(`^row ${answers.length + 3}, column 'trialIndex': trial 0 of p1 appears a second time`));
    await refuse(jsPsychCsv(answers.map((a, k) => (k === 1 ? { ...a, trialIndex: 5000 } : a))), /^row 4, column 'trialIndex': expected an integer from 0 to \d+/);
    await refuse(jsPsychCsv(answers), /columns.response: the column 'answer' is not in the file/, { columns: { response: "answer" } });
    await refuse('participant,trialIndex\np1,"0', /row 2: a quoted field is not closed/);
    await refuse('participant,trialIndex,response,rt\np1,0,cat', /row 2: expected 4 fields \(as in the header\), got 3/);
    expect(await app.store.experiments.experimentResponses(experiment.id)).toEqual([]);
    expect((await app.store.experiments.participants(experiment.id)).map((p) => p.status)).toEqual(["PENDING", "PENDING"]);

    // A participant whose link was used in the hub cannot be imported over.
    await app.services.participation.recordResponse(links[0].token, { trialIndex: 0, response: lists[0][0].correctLabel, rtMs: 1, onsetMs: 0, offsetMs: 1, stimulusFrames: 1, refreshHz: 60 });
    await refuse(jsPsychCsv(answers), /^row 3, column 'participant': participant p1 already has answers in the hub/);
    expect(await app.store.experiments.experimentResponses(experiment.id)).toHaveLength(1);
  });

  it("joins a Prolific demographic export on the participants' Prolific ids", async () => {
    const [{ experiment, links }] = await experimentPair("demographics", 2);
    await app.services.participation.startParticipation(links[0].token, { pid: "60aa11bb22cc33dd44ee55ff", studyId: "s", sessionId: "x" });
    const csv = ["Submission id,Participant id,Status,Age,Sex", "a1,60aa11bb22cc33dd44ee55ff,APPROVED,34,Female", "a2,5ffffffffffffffffffffff0,RETURNED,28,Male"].join("\n");
    const r = await app.gql(`mutation($e: ID!, $c: String!) { importProlificDemographics(experimentId: $e, csv: $c) { matched unmatched } }`, { e: experiment.id, c: csv }, key);
    expect(r.errors).toBeUndefined();
    expect(r.data.importProlificDemographics).toEqual({ matched: 1, unmatched: 1 });
    const [p1, p2] = await app.store.experiments.participants(experiment.id);
    expect(p1.demographics).toEqual({ "Submission id": "a1", Status: "APPROVED", Age: "34", Sex: "Female" });
    expect(p2.demographics).toBeNull();
    const bad = await app.gql(`mutation($e: ID!, $c: String!) { importProlificDemographics(experimentId: $e, csv: $c) { matched } }`, { e: experiment.id, c: "Age,Sex\n3,F" }, key);
    expect(bad.errors?.[0].message).toMatch(/csv row 1: expected a participant id column/);
  });
});
