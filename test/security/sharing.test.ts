// Sharing's security edges (issue 15): another group (READER or ADMIN) reading lab A's unshared objects through every
// path gets what it would get for an id that does not exist; a partner identity of the consortium cannot change
// anything on the hub, even objects shared with it, and every such attempt writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRows } from "../helpers/db.js";
import { CONSORTIUM, createSharingWorld, get, type SharingWorld } from "../sharing/fixture.js";

let w: SharingWorld;

beforeAll(async () => {
  w = await createSharingWorld();
});
afterAll(async () => {
  await w?.close();
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

describe("another group reading lab A's unshared objects", () => {
  const reads = (): [string, string, Record<string, unknown>, (d: any) => unknown][] => [
    ["model", `query($id: ID!) { model(id: $id) { id } }`, { id: w.model.id }, (d) => d.model],
    ["generator model", `query($id: ID!) { model(id: $id) { id } }`, { id: w.batch.generatorId }, (d) => d.model],
    ["reference model", `query($id: ID!) { model(id: $id) { id } }`, { id: w.study.referenceModelId }, (d) => d.model],
    ["models list", `{ models(first: 500) { totalCount edges { node { id } } } }`, {}, (d) => (d.models.totalCount === 0 ? null : d.models)],
    ["stimulus set", `query($id: ID!) { stimulusSet(id: $id) { id } }`, { id: w.set.id }, (d) => d.stimulusSet],
    ["stimulus sets list", `{ stimulusSets(first: 500) { totalCount } }`, {}, (d) => (d.stimulusSets.totalCount === 0 ? null : d.stimulusSets)],
    ["stimulus", `query($id: ID!) { stimulus(id: $id) { id } }`, { id: w.set.stimulusId }, (d) => d.stimulus],
    ["batch", `query($id: ID!) { synthesisBatch(id: $id) { id } }`, { id: w.batch.id }, (d) => d.synthesisBatch],
    ["job", `query($id: ID!) { synthesisJob(id: $id) { id } }`, { id: w.batch.jobId }, (d) => d.synthesisJob],
    ["metamer", `query($id: ID!) { metamer(id: $id) { id } }`, { id: w.batch.metamerIds[0] }, (d) => d.metamer],
    ["studies", `{ studies { id } }`, {}, (d) => (d.studies.length === 0 ? null : d.studies)],
  ];
  const notFound = (): [string, string, Record<string, unknown>][] => [
    ["curve", `query($id: ID!) { recognizabilityCurve(modelId: $id, observer: GENERATOR) { n } }`, { id: w.batch.generatorId }],
    ["human curve", `query($id: ID!) { recognizabilityCurve(modelId: $id, observer: HUMAN) { n } }`, { id: w.study.referenceModelId }],
    ["recognizability", `query($id: ID!) { recognizability(modelId: $id, stage: "fc", observer: GENERATOR) { n } }`, { id: w.batch.generatorId }],
    ["matrix", `query($id: ID!) { crossModelMatrix(generatorIds: [$id], recognizerIds: [$id]) { n } }`, { id: w.model.id }],
  ];

  for (const who of ["reader", "admin"] as const) {
    it(`as lab B's ${who.toUpperCase()}: null, empty, NOT_FOUND or 404 on every path`, async () => {
      const key = w.b[who];
      const leaks: string[] = [];
      for (const [name, query, vars, pick] of reads()) {
        const res = await w.t.gql(query, vars, key);
        if (res.errors || pick(res.data) !== null) leaks.push(`${name}: ${JSON.stringify(res.errors ?? res.data)}`);
      }
      for (const [name, query, vars] of notFound()) {
        const res = await w.t.gql(query, vars, key);
        if (code(res) !== "NOT_FOUND") leaks.push(`${name}: ${JSON.stringify(res.errors ?? res.data)}`);
      }
      for (const path of [
        `/blobs/${w.model.sha256}`,
        `/blobs/${w.batch.metamerSha256}`,
        `/blobs/${w.set.sha256}`,
        `/export/model-trials.csv?generatorId=${w.batch.generatorId}`,
        `/export/recognizability-curve.csv?modelId=${w.model.id}&observer=GENERATOR`,
        `/export/cross-model-matrix.csv?generatorIds=${w.model.id}&recognizerIds=${w.model.id}`,
      ]) {
        const res = await get(`${w.t.url}${path}`, key);
        if (res.status !== 404) leaks.push(`GET ${path}: ${res.status} ${res.text.slice(0, 100)}`);
      }
      const scores = await get(`${w.t.url}/export/human-scores.csv?modelIds=${w.study.referenceModelId}`, key);
      if (scores.text.trim().split("\n").length !== 1) leaks.push(`human-scores.csv: ${scores.text.slice(0, 200)}`);
      // The messages are those of an id that does not exist: nothing tells "private" from "absent".
      const absent = await w.t.gql(`query { recognizabilityCurve(modelId: "00000000-0000-4000-8000-000000000000", observer: GENERATOR) { n } }`, {}, key);
      const hidden = await w.t.gql(`query($id: ID!) { recognizabilityCurve(modelId: $id, observer: GENERATOR) { n } }`, { id: w.model.id }, key);
      expect(hidden.errors![0].message.replace(w.model.id, "<id>")).toBe(absent.errors![0].message.replace("00000000-0000-4000-8000-000000000000", "<id>"));
      expect(leaks).toEqual([]);
    });
  }
});

describe("a partner identity", () => {
  it("changes nothing, not even what was shared with it: every mutation is FORBIDDEN and writes no row", async () => {
    const shared = await w.t.gql(
      `mutation($i: ShareInput!) { share(input: $i) { id } }`,
      { i: { kind: "SYNTHESIS_BATCH", id: w.batch.id, target: { kind: "PARTNER", consortiumId: CONSORTIUM, partnerGroup: "lab-b" } } },
      w.a.member,
    );
    const shareId = shared.data.share.id;
    // It does read the shared batch, so the refusals below are about changing, not about seeing.
    expect((await w.t.gql(`query($id: ID!) { synthesisBatch(id: $id) { id } }`, { id: w.batch.id }, w.partnerRight)).data.synthesisBatch).toEqual({ id: w.batch.id });

    const attempts: [string, string, Record<string, unknown>][] = [
      ["cancelSynthesis (shared batch)", `mutation($id: ID!) { cancelSynthesis(batchId: $id) { id } }`, { id: w.batch.id }],
      ["revokeShare (its own share)", `mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: shareId }],
      ["share", `mutation($i: ShareInput!) { share(input: $i) { id } }`, { i: { kind: "SYNTHESIS_BATCH", id: w.batch.id, target: { kind: "HUB" } } }],
      ["recognizeBacklog", `mutation($id: ID!) { recognizeBacklog(modelId: $id) }`, { id: w.batch.generatorId }],
      ["createStimulusSet", `mutation { createStimulusSet(input: { name: "x", modality: IMAGE, classLabels: ["a"] }) { id } }`, {}],
      ["registerModel", `mutation { registerModel(input: { name: "x", modality: IMAGE, data: "AAAA" }) { id } }`, {}],
      ["createUpload", `mutation { createUpload(input: { purpose: MODEL, byteSize: 10, sha256: "${"0".repeat(64)}" }) { id } }`, {}],
      ["createApiKey", `mutation { createApiKey(name: "x", role: ADMIN) { key } }`, {}],
      ["revokeApiKey", `mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") }`, {}],
      ["createGroup", `mutation { createGroup(name: "partner-made") { group { id } } }`, {}],
      ["importFeather2023", `mutation { importFeather2023 { studyId } }`, {}],
      [
        "synthesizeMetamers",
        `mutation($m: ID!, $s: ID!) { synthesizeMetamers(input: { modelId: $m, stages: ["fc"], stimulusIds: [$s] }) { id } }`,
        { m: w.batch.generatorId, s: w.set.stimulusId },
      ],
    ];
    const before = await countRows(w.t.store);
    const wrong: string[] = [];
    for (const [name, query, vars] of attempts) {
      const res = await w.t.gql(query, vars, w.partnerRight);
      if (code(res) !== "FORBIDDEN") wrong.push(`${name}: ${JSON.stringify(res.errors ?? res.data).slice(0, 300)}`);
      else if (!/partner identities .* may only read what was shared with them/.test(res.errors![0].message)) wrong.push(`${name}: ${res.errors![0].message}`);
    }
    expect(wrong).toEqual([]);
    expect(await countRows(w.t.store)).toEqual(before);
    await w.t.gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: shareId }, w.a.member);
  });
});
