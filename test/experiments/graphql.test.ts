// createExperiment / experiment(id) over HTTP GraphQL: roles, groups, links shown once, the design as queried.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";

let app: TestApp;
let member: string;
let reader: string;
let other: string;
let fx: ExperimentFixture;

const CREATE = `mutation($i: CreateExperimentInput!) { createExperiment(input: $i) {
  experiment { id name modality status mainTrials studyId timing { fixationMs stimulusMs maskMs practiceStimulusMs }
    counts { practice demo catch headphone } screening { demoTrials minCorrect } catchThreshold responseOptions
    conditions { condition modelId stage minPerParticipant maxPerParticipant total shownNatural }
    participants { label status answered trialCount } }
  links { participantId label token url } } }`;

const QUERY = `query($id: ID!) { experiment(id: $id) { id statusCounts { pending started completed excluded }
  participants { id label status answered trials { index phase condition modelId stage stimulusId metamerId shownNatural fallback correctLabel timing { stimulusMs } } } } }`;

beforeAll(async () => {
  app = await startTestApp();
  const g = await app.createGroupWithKey("lab-exp-gql", "ADMIN");
  const admin = await app.services.auth.authenticate(`Bearer ${g.key}`);
  member = (await app.services.auth.createApiKey(admin, "m", "MEMBER")).key;
  reader = (await app.services.auth.createApiKey(admin, "r", "READER")).key;
  other = (await app.createGroupWithKey("lab-exp-other", "ADMIN")).key;
  fx = await createExperimentFixture(app.store, g.groupId, { stimuli: 20, extraStimuli: 44, failEvery: 5 });
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe("experiments over GraphQL", () => {
  it("creates an experiment with one link per participant and shows its design and trial lists", async () => {
    const input = { name: "gql", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 3, seed: 9, catchTrials: 8 };
    const res = await app.gql(CREATE, { i: input }, member);
    expect(res.errors).toBeUndefined();
    const { experiment, links } = res.data.createExperiment;
    expect(experiment).toMatchObject({
      name: "gql", modality: "IMAGE", status: "OPEN", mainTrials: 20,
      timing: { fixationMs: 300, stimulusMs: 300, maskMs: 300, practiceStimulusMs: 400 },
      counts: { practice: 16, demo: 12, catch: 8, headphone: 0 }, screening: { demoTrials: 12, minCorrect: 7 }, catchThreshold: 0.75,
      responseOptions: fx.labels,
    });
    // natural + 2 models x 2 stages = 5 conditions, 20 stimuli: 4 trials each per participant, 12 over 3 participants.
    expect(experiment.conditions).toHaveLength(5);
    expect(experiment.conditions[0]).toMatchObject({ condition: "natural", modelId: null, stage: "natural", minPerParticipant: 4, maxPerParticipant: 4, total: 12, shownNatural: 0 });
    for (const c of experiment.conditions) expect(c.total).toBe(12);
    expect(experiment.conditions.map((c: { stage: string }) => c.stage)).toEqual(["natural", "conv1", "fc", "conv1", "fc"]);
    expect(links.map((l: { label: string }) => l.label)).toEqual(["p1", "p2", "p3"]);
    expect(links[0].url).toBe(`${app.url}/experiments/${experiment.id}/run?token=${links[0].token}`);
    expect(new Set(links.map((l: { token: string }) => l.token)).size).toBe(3);

    const q = await app.gql(QUERY, { id: experiment.id }, reader);
    expect(q.errors).toBeUndefined();
    const e = q.data.experiment;
    expect(e.statusCounts).toEqual({ pending: 3, started: 0, completed: 0, excluded: 0 });
    const trials = e.participants[0].trials;
    expect(trials).toHaveLength(16 + 12 + 20 + 8);
    const main = trials.filter((t: { phase: string }) => t.phase === "main");
    expect(main.filter((t: { condition: string }) => t.condition === "natural")).toHaveLength(4);
    for (const t of main) {
      if (t.condition === "natural" || t.shownNatural) expect(t.metamerId).toBeNull();
      else expect(fx.metamers.get(t.metamerId)).toMatchObject({ modelId: t.modelId, stage: t.stage, stimulusId: t.stimulusId, passed: true });
    }
    // The token is shown once: nothing in the experiment's view contains it.
    expect(JSON.stringify(q.data)).not.toContain(links[0].token);
    // Another group sees nothing of it.
    const hidden = await app.gql(QUERY, { id: experiment.id }, other);
    expect(hidden.errors?.[0].extensions?.code).toBe("NOT_FOUND");
  });

  it("needs MEMBER to create, and says why a design is refused", async () => {
    const input = { name: "x", stimulusSetId: fx.setId, batchIds: fx.batchIds, participants: 1 };
    expect((await app.gql(CREATE, { i: input }, reader)).errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect((await app.gql(CREATE, { i: input })).errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const foreign = await app.gql(CREATE, { i: input }, other);
    expect(foreign.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect(foreign.errors?.[0].message).toMatch(/stimulusSetId: no stimulus set/);
    const tooMany = await app.gql(CREATE, { i: { ...input, participants: 5000 } }, member);
    expect(tooMany.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const badMap = await app.gql(CREATE, { i: { ...input, labelMap: { cat: "animal", car: "object" } } }, member);
    expect(badMap.errors?.[0].message).toMatch(/labelMap: expected an entry for every stimulus label, got none for 'dog'/);
    const badUrl = await app.gql(CREATE, { i: { ...input, completionUrl: "javascript:alert(1)" } }, member);
    expect(badUrl.errors?.[0].message).toMatch(/completionUrl: expected an http\(s\) URL/);
    const coarse = await app.gql(CREATE, { i: { ...input, labelMap: { cat: "animal", dog: "animal", car: "object", cup: "object" } } }, member);
    expect(coarse.errors).toBeUndefined();
    expect(coarse.data.createExperiment.experiment.responseOptions).toEqual(["animal", "object"]);
  });
});
