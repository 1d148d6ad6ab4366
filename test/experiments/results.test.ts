// An experiment's results reach the recognizability resolvers and exports through the HumanScore rows of its study,
// exactly like the imported paper data (one code path).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";

let app: TestApp;
let key: string;
let fx: ExperimentFixture;
let experimentId: string;
/** What the script answered: participant label -> condition -> [n, correct] over scored main trials. */
const answered = new Map<string, Map<string, [number, number]>>();

const timing = (i: number) => ({ rtMs: 400, onsetMs: i * 1000, offsetMs: i * 1000 + 300, stimulusFrames: 18, refreshHz: 60 });

beforeAll(async () => {
  app = await startTestApp();
  const g = await app.createGroupWithKey("lab-exp-results", "MEMBER");
  key = g.key;
  const ctx = { groupId: g.groupId, role: "MEMBER" as const, apiKeyId: "00000000-0000-0000-0000-000000000000" };
  fx = await createExperimentFixture(app.store, g.groupId, { stimuli: 20, extraStimuli: 44, failEvery: 6, crossRecognitions: true });
  const { experiment, links } = await app.services.experiments.create(ctx, { name: "results", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 4, seed: 21 });
  experimentId = experiment.id;
  const lists = (await app.store.experiments.participants(experiment.id)).map((p) => p.trials as StoredTrial[]);
  // p1..p3 are kept; each answers metamer trials right by its own rule. p4 fails the catch trials.
  const rules = [(t: StoredTrial) => t.index % 2 === 0, (t: StoredTrial) => t.index % 3 !== 0, (t: StoredTrial) => t.index % 5 < 2, () => true];
  for (let p = 0; p < 4; p++) {
    const tally = new Map<string, [number, number]>();
    for (const t of lists[p]) {
      const right = t.phase === "catch" ? p !== 3 : t.phase !== "main" || t.condition === "natural" ? true : rules[p](t);
      if (t.phase === "main" && !t.shownNatural) {
        const c = tally.get(t.condition!) ?? [0, 0];
        tally.set(t.condition!, [c[0] + 1, c[1] + (right ? 1 : 0)]);
      }
      await app.services.participation.recordResponse(links[p].token, { trialIndex: t.index, response: right ? t.correctLabel : t.options.find((o) => o !== t.correctLabel)!, ...timing(t.index) });
    }
    answered.set(`p${p + 1}`, tally);
    await app.services.participation.completeParticipation(links[p].token);
  }
}, 180_000);

afterAll(async () => {
  await app?.close();
});

const kept = ["p1", "p2", "p3"];
const proportion = (label: string, cond: string) => {
  const [n, c] = answered.get(label)!.get(cond)!;
  return c / n;
};

describe("experiment results", () => {
  it("feed recognizability(observer: HUMAN) and the HUMAN curve with the proportions the participants answered", async () => {
    const m = fx.models[0];
    const res = await app.gql(
      `query($m: ID!, $s: String!) { recognizability(modelId: $m, stage: $s, observer: HUMAN, resamples: 100) { mean n }
         recognizabilityCurve(modelId: $m, observer: HUMAN) { stage mean n natural } }`,
      { m: m.id, s: "fc" },
      key,
    );
    expect(res.errors).toBeUndefined();
    const expected = kept.map((l) => proportion(l, `${m.id}/fc`));
    expect(res.data.recognizability.n).toBe(3);
    expect(res.data.recognizability.mean).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / 3, 12);
    const curve = new Map(res.data.recognizabilityCurve.map((p: { stage: string; mean: number; n: number }) => [p.stage, p]));
    expect([...curve.keys()].sort()).toEqual(["conv1", "fc", "natural"]);
    expect((curve.get("natural") as { mean: number }).mean).toBeCloseTo(kept.map((l) => proportion(l, "natural")).reduce((a, b) => a + b, 0) / 3, 12);
    expect((curve.get("conv1") as { n: number }).n).toBe(3);
  });

  it("feed humanVsModel, compareRecognizability and idiosyncrasy", async () => {
    const [a, b] = fx.models;
    const res = await app.gql(
      `query($a: ID!, $b: ID!) {
         humanVsModel(modelId: $a, permutations: 200) { subjects stages }
         compareRecognizability(modelA: $a, modelB: $b, observer: HUMAN, permutations: 200) { design subjects stages }
         idiosyncrasy(modality: VISION, resamples: 50) { n points { model stage human otherModels } } }`,
      { a: a.id, b: b.id },
      key,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.humanVsModel.stages).toEqual(expect.arrayContaining(["conv1", "fc"]));
    expect(res.data.compareRecognizability).toMatchObject({ design: "REPEATED_MEASURES", subjects: 3 });
    expect(res.data.idiosyncrasy.n).toBe(4);
    const point = res.data.idiosyncrasy.points.find((p: { model: string; stage: string }) => p.model === b.name && p.stage === "conv1");
    expect(point.human).toBeCloseTo(kept.map((l) => proportion(l, `${b.id}/conv1`)).reduce((x, y) => x + y, 0) / 3, 12);
  });

  it("writes NETWORK rows from the generator's stored recognitions of exactly the stimuli each participant saw", async () => {
    const rows = await app.store.metricsExport.participantScores(fx.models.map((m) => m.id));
    const lists = new Map((await app.store.experiments.participants(experimentId)).map((p) => [p.label, p.trials as StoredTrial[]]));
    expect(new Set(rows.map((r) => r.participant))).toEqual(new Set(kept));
    for (const r of rows.filter((x) => x.observer === "NETWORK")) {
      const cond = r.stage === "natural" ? "natural" : `${r.modelId}/${r.stage}`;
      const seen = lists.get(r.participant)!.filter((t) => t.phase === "main" && !t.shownNatural && t.condition === cond);
      const flags = seen.map((t) => fx.recognitions.get(`${r.modelId}|${t.metamerId ?? t.stimulusId}`)!);
      expect(r.value).toBeCloseTo(flags.filter(Boolean).length / flags.length, 12);
    }
  });

  it("exports trial-level and aggregate CSV, excluded participants with their reason", async () => {
    const res = await app.gql(`query($id: ID!) { experimentResults(id: $id) { trialsCsv aggregateCsv studyId } }`, { id: experimentId }, key);
    expect(res.errors).toBeUndefined();
    const trials = res.data.experimentResults.trialsCsv.trim().split("\n");
    const lists = await app.store.experiments.participants(experimentId);
    expect(trials[0]).toBe("participant,status,trial_index,phase,condition,model_id,stage,stimulus_id,metamer_id,shown_natural,fallback,correct_label,response,correct,rt_ms,onset_ms,offset_ms,stimulus_frames,refresh_hz");
    expect(trials).toHaveLength(1 + lists.reduce((a, p) => a + p.trials.length, 0));
    const aggregate = res.data.experimentResults.aggregateCsv.trim().split("\n").map((l: string) => l.split(","));
    const cond = `${fx.models[1].id}/fc`;
    const row = aggregate.find((r: string[]) => r[0] === "p2" && r[3] === cond)!;
    expect(Number(row[8])).toBeCloseTo(proportion("p2", cond), 12);
    const excluded = res.data.experimentResults.aggregateCsv.split("\n").find((l: string) => l.startsWith("p4,"));
    expect(excluded).toContain('p4,EXCLUDED,"catch trials: 0 of 16 correct (0.000), below the threshold 0.75",natural,');
    // The human-scores export reads the same rows as the resolvers.
    const csv = await fetch(`${app.url}/export/human-scores.csv?modelIds=${fx.models.map((m) => m.id).join(",")}`, { headers: { authorization: `Bearer ${key}` } });
    const lines = (await csv.text()).trim().split("\n");
    expect(lines.filter((l) => l.includes(`,${experimentId},p1,`)).length).toBe(2 * 2 * 3);
  });
});
