// The visibility table (issue 15, item 2): for every shareable kind of object, every share state (none, GROUP, HUB,
// PARTNER, embargoed, embargo passed, revoked) and every kind of caller (the owner's READER, another group's READER
// and ADMIN, a partner of the consortium group shared with, a partner of another group), whether the object is
// visible, checked through every route that returns it or aggregates over it: GraphQL gets, lists, curves, matrix,
// the CSV exports and /blobs. The clock is the hub's injected clock (moved, never slept on).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSORTIUM, createSharingWorld, get, type SharingWorld } from "./fixture.js";

let w: SharingWorld;

beforeAll(async () => {
  w = await createSharingWorld();
});
afterAll(async () => {
  await w?.close();
});

type CallerName = "owner READER" | "other READER" | "other ADMIN" | "partner of lab-b" | "partner of lab-z";
const CALLERS: CallerName[] = ["owner READER", "other READER", "other ADMIN", "partner of lab-b", "partner of lab-z"];
const bearer = (c: CallerName) =>
  ({ "owner READER": w.a.reader, "other READER": w.b.reader, "other ADMIN": w.b.admin, "partner of lab-b": w.partnerRight, "partner of lab-z": w.partnerWrong })[c];

type State = "none" | "GROUP" | "HUB" | "PARTNER" | "embargoed" | "embargo passed" | "revoked";
/** Who sees the object in each state besides its owner. */
const EXPECTED: Record<State, CallerName[]> = {
  none: [],
  GROUP: ["other READER", "other ADMIN"],
  HUB: ["other READER", "other ADMIN"],
  PARTNER: ["partner of lab-b"],
  embargoed: [],
  "embargo passed": ["other READER", "other ADMIN"],
  revoked: [],
};

/** A GraphQL read: visible when it returns data without error; hidden only as "absent" (null, or NOT_FOUND). */
async function gqlVisible(query: string, variables: Record<string, unknown>, caller: CallerName, pick: (data: any) => boolean): Promise<boolean | string> {
  const res = await w.t.gql(query, variables, bearer(caller));
  if (res.errors) {
    const code = res.errors[0].extensions?.code;
    return code === "NOT_FOUND" ? false : `error ${code}: ${res.errors[0].message}`;
  }
  return pick(res.data);
}

/** An HTTP route: 200 visible, 404 hidden, anything else is reported. */
async function httpVisible(path: string, caller: CallerName, hasRows = false): Promise<boolean | string> {
  const res = await get(`${w.t.url}${path}`, bearer(caller));
  if (res.status === 404) return false;
  if (res.status !== 200) return `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
  // CSV tables that filter silently (a list of ids): visible when the object's rows are there.
  return hasRows ? res.text.trim().split("\n").length > 1 : true;
}

type Path = (caller: CallerName) => Promise<boolean | string>;

interface Kind {
  kind: "MODEL" | "STIMULUS_SET" | "SYNTHESIS_BATCH" | "STUDY";
  id: () => string;
  paths: Record<string, Path>;
}

const edgeIds = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id);

const KINDS: Kind[] = [
  {
    kind: "MODEL",
    id: () => w.model.id,
    paths: {
      "model(id) with layers": (c) => gqlVisible(`query($id: ID!) { model(id: $id) { id layers { name } } }`, { id: w.model.id }, c, (d) => d.model?.layers.length === 2),
      "models list (and its totalCount)": (c) => listVisible(`{ list: models(first: 500) { totalCount edges { node { id } } } }`, c, w.model.id),
      recognizabilityCurve: (c) => gqlVisible(`query($id: ID!) { recognizabilityCurve(modelId: $id, observer: GENERATOR) { stage n } }`, { id: w.model.id }, c, () => true),
      crossModelMatrix: (c) => gqlVisible(`query($id: ID!) { crossModelMatrix(generatorIds: [$id], recognizerIds: [$id]) { n } }`, { id: w.model.id }, c, () => true),
      "GET /export/recognizability-curve.csv": (c) => httpVisible(`/export/recognizability-curve.csv?modelId=${w.model.id}&observer=GENERATOR`, c),
      "GET /export/cross-model-matrix.csv": (c) => httpVisible(`/export/cross-model-matrix.csv?generatorIds=${w.model.id}&recognizerIds=${w.model.id}`, c),
      "GET /export/model-trials.csv": (c) => httpVisible(`/export/model-trials.csv?generatorId=${w.model.id}`, c),
      "GET /blobs (ONNX file)": (c) => httpVisible(`/blobs/${w.model.sha256}`, c),
    },
  },
  {
    kind: "STIMULUS_SET",
    id: () => w.set.id,
    paths: {
      "stimulusSet(id) with stimuli": (c) => gqlVisible(`query($id: ID!) { stimulusSet(id: $id) { id stimuli(first: 10) { totalCount } } }`, { id: w.set.id }, c, (d) => d.stimulusSet?.stimuli.totalCount === 2),
      "stimulusSets list (and its totalCount)": (c) => listVisible(`{ list: stimulusSets(first: 500) { totalCount edges { node { id } } } }`, c, w.set.id),
      "stimulus(id)": (c) => gqlVisible(`query($id: ID!) { stimulus(id: $id) { id } }`, { id: w.set.stimulusId }, c, (d) => d.stimulus?.id === w.set.stimulusId),
      "GET /blobs (stimulus file)": (c) => httpVisible(`/blobs/${w.set.sha256}`, c),
    },
  },
  {
    kind: "SYNTHESIS_BATCH",
    id: () => w.batch.id,
    paths: {
      "synthesisBatch(id) with jobs": (c) => gqlVisible(`query($id: ID!) { synthesisBatch(id: $id) { id jobs { id } } }`, { id: w.batch.id }, c, (d) => d.synthesisBatch?.jobs.length === 2),
      "synthesisJob(id)": (c) => gqlVisible(`query($id: ID!) { synthesisJob(id: $id) { id } }`, { id: w.batch.jobId }, c, (d) => d.synthesisJob?.id === w.batch.jobId),
      "metamer(id) with model and stimulus": (c) =>
        gqlVisible(`query($id: ID!) { metamer(id: $id) { id model { id name } stimulus { id } } }`, { id: w.batch.metamerIds[0] }, c, (d) => !!d.metamer?.model && !!d.metamer.stimulus),
      "model(id) of the generator": (c) => gqlVisible(`query($id: ID!) { model(id: $id) { id layers { name } } }`, { id: w.batch.generatorId }, c, (d) => d.model?.layers.length === 2),
      "recognizabilityCurve of the generator": (c) =>
        gqlVisible(`query($id: ID!) { recognizabilityCurve(modelId: $id, observer: GENERATOR, poolConfigurations: true) { stage n } }`, { id: w.batch.generatorId }, c, (d) =>
          d.recognizabilityCurve.some((p: { stage: string; n: number }) => p.stage === "fc" && p.n >= 2),
        ),
      "crossModelMatrix of the generator": (c) =>
        gqlVisible(`query($id: ID!) { crossModelMatrix(generatorIds: [$id], recognizerIds: [$id], poolConfigurations: true) { n } }`, { id: w.batch.generatorId }, c, (d) =>
          d.crossModelMatrix.some((cell: { n: number }) => cell.n >= 2),
        ),
      "GET /export/model-trials.csv of the generator": (c) => httpVisible(`/export/model-trials.csv?generatorId=${w.batch.generatorId}`, c),
      "GET /blobs (metamer tensor)": (c) => httpVisible(`/blobs/${w.batch.metamerSha256}`, c),
    },
  },
  {
    kind: "STUDY",
    id: () => w.study.id,
    paths: {
      "studies list": (c) => gqlVisible(`{ studies { id } }`, {}, c, (d) => d.studies.some((s: { id: string }) => s.id === w.study.id)),
      "model(id) of its reference model": (c) => gqlVisible(`query($id: ID!) { model(id: $id) { id } }`, { id: w.study.referenceModelId }, c, (d) => !!d.model),
      "HUMAN recognizabilityCurve": (c) =>
        gqlVisible(`query($id: ID!) { recognizabilityCurve(modelId: $id, observer: HUMAN) { stage n } }`, { id: w.study.referenceModelId }, c, (d) => d.recognizabilityCurve.length === 3),
      "OTHER_MODELS recognizabilityCurve": (c) =>
        gqlVisible(`query($id: ID!) { recognizabilityCurve(modelId: $id, observer: OTHER_MODELS) { stage n } }`, { id: w.study.referenceModelId }, c, (d) => d.recognizabilityCurve.length === 3),
      idiosyncrasy: (c) => idiosyncrasyVisible(`{ idiosyncrasy(modality: VISION, resamples: 10) { points { modelId } } }`, c),
      "GET /export/idiosyncrasy-points.csv": async (c) => {
        const res = await get(`${w.t.url}/export/idiosyncrasy-points.csv?modality=VISION`, bearer(c));
        if (res.status === 400 && /found 0 for VISION/.test(res.text)) return false;
        return res.status === 200 ? res.text.includes(w.study.referenceModelId) : `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
      },
      "GET /export/human-scores.csv": (c) => httpVisible(`/export/human-scores.csv?modelIds=${w.study.referenceModelId}`, c, true),
    },
  },
];

/** A connection contains the id; its totalCount must count exactly the edges it can return (the same rule). */
async function listVisible(query: string, caller: CallerName, id: string): Promise<boolean | string> {
  const res = await w.t.gql(query, {}, bearer(caller));
  if (res.errors) return `error ${res.errors[0].extensions?.code}: ${res.errors[0].message}`;
  const ids = edgeIds(res.data.list);
  if (res.data.list.totalCount !== ids.length) return `totalCount ${res.data.list.totalCount} but ${ids.length} edges`;
  return ids.includes(id);
}

/**
 * The idiosyncrasy analysis ranges over every visible (model, stage): the study's 3 points are in it, or (hidden)
 * there are too few points, which it says as BAD_USER_INPUT naming how many it found.
 */
async function idiosyncrasyVisible(query: string, caller: CallerName): Promise<boolean | string> {
  const res = await w.t.gql(query, {}, bearer(caller));
  if (res.errors) return /found 0 for VISION/.test(res.errors[0].message) ? false : `error ${res.errors[0].extensions?.code}: ${res.errors[0].message}`;
  return res.data.idiosyncrasy.points.filter((p: { modelId: string }) => p.modelId === w.study.referenceModelId).length === 3;
}

async function share(kind: Kind, target: Record<string, unknown>, embargoUntil: Date | null = null): Promise<string> {
  const res = await w.t.gql(
    `mutation($i: ShareInput!) { share(input: $i) { id state } }`,
    { i: { kind: kind.kind, id: kind.id(), target, embargoUntil: embargoUntil?.toISOString() ?? null } },
    w.a.member,
  );
  expect(res.errors).toBeUndefined();
  return res.data.share.id;
}

async function revoke(id: string): Promise<void> {
  const res = await w.t.gql(`mutation($id: ID!) { revokeShare(id: $id) { state } }`, { id }, w.a.member);
  expect(res.data?.revokeShare.state).toBe("REVOKED");
}

/** Every (caller, path) of the kind against the expected table row; returns the disagreements. */
async function check(kind: Kind, state: State): Promise<string[]> {
  const wrong: string[] = [];
  for (const caller of CALLERS) {
    const expected = caller === "owner READER" || EXPECTED[state].includes(caller);
    for (const [name, path] of Object.entries(kind.paths)) {
      const got = await path(caller);
      if (got !== expected) wrong.push(`${kind.kind} / ${state} / ${caller} / ${name}: expected ${expected ? "visible" : "hidden"}, got ${got === true ? "visible" : got === false ? "hidden" : got}`);
    }
  }
  return wrong;
}

const DAY = 86_400_000;

describe.each(KINDS.map((k) => [k.kind, k] as const))("%s", (_, kind) => {
  it("none → GROUP → HUB → PARTNER → embargoed → embargo passed → revoked, through every route", async () => {
    const wrong: string[] = [];
    wrong.push(...(await check(kind, "none")));

    let id = await share(kind, { kind: "GROUP", group: "lab-b" });
    wrong.push(...(await check(kind, "GROUP")));
    await revoke(id);

    id = await share(kind, { kind: "HUB" });
    wrong.push(...(await check(kind, "HUB")));
    await revoke(id);

    id = await share(kind, { kind: "PARTNER", consortiumId: CONSORTIUM, partnerGroup: "lab-b" });
    wrong.push(...(await check(kind, "PARTNER")));
    await revoke(id);

    const until = new Date(w.clock.now.getTime() + DAY);
    id = await share(kind, { kind: "GROUP", group: "lab-b" }, until);
    wrong.push(...(await check(kind, "embargoed")));
    // The date passes: nobody acts, the share is judged at each request's time.
    w.clock.now = new Date(until.getTime() + 1);
    wrong.push(...(await check(kind, "embargo passed")));

    await revoke(id);
    wrong.push(...(await check(kind, "revoked")));
    expect(wrong).toEqual([]);
  });
});
