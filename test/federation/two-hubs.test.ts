// Two labs, each with its own hub (its own PostgreSQL database, its own port), and the consortium gateway in front:
// lab A shares a synthesis batch with lab B's consortium group, and a lab-B person reads A's shared metamers and B's
// own models in one query through the gateway. Private objects stay absent, embargoes lift with the (injected) clock,
// and tokens that are not the consortium's current ones are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseGatewayConfig } from "../../src/gateway/config.js";
import { startGateway, type Gateway } from "../../src/gateway/gateway.js";
import { hashGatewayKey } from "../../src/gateway/tokens.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";
import { makeKeys, partnerToken, type TestKeys } from "./consortium.js";

const DAY = 24 * 3600 * 1000;
// One clock for the hubs and the gateway, moved by the test: tokens are signed and judged at the same "now".
let offset = 0;
const clock = () => new Date(Date.now() + offset);
// The gateway can be given its own skew (a gateway clock far behind the hubs signs tokens that are already expired).
let gatewaySkew = 0;
const gatewayClock = () => new Date(clock().getTime() + gatewaySkew);

let keys: TestKeys;
let otherKeys: TestKeys;
let a: TestApp;
let b: TestApp;
let gateway: Gateway;
const bobKey = "mgk_bob-of-lab-b-test-key";
const ids = { batch: "", metamers: [] as string[], generator: "", privateModel: "", embargoedSet: "", bModel: "", bPrivateModel: "" };

const hubConfig = (name: string, k: TestKeys) => ({
  hubName: name,
  consortium: { id: "neuro", issuer: "neuro", audience: name, publicKeyFile: k.publicKeyFile },
});

function gatewayConfig(privateKeyFile: string) {
  return parseGatewayConfig(
    {
      consortium: { id: "neuro" },
      privateKey: privateKeyFile,
      port: 0,
      subgraphs: [
        { name: "labA", url: `${a.url}/graphql` },
        { name: "labB", url: `${b.url}/graphql` },
      ],
      users: [{ subject: "bob@lab-b", group: "lab-b", keySha256: hashGatewayKey(bobKey) }],
    },
    keys.dir,
  );
}

async function viaGateway(query: string, variables: Record<string, unknown> = {}, key = bobKey) {
  const res = await fetch(gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] }) };
}

const share = (hub: TestApp, key: string, kind: string, id: string, embargoUntil: Date | null = null) =>
  hub.gql(
    `mutation($kind: ShareObjectKind!, $id: ID!, $until: DateTimeISO) {
      share(input: { kind: $kind, id: $id, target: { kind: PARTNER, consortiumId: "neuro", partnerGroup: "lab-b" }, embargoUntil: $until }) { id state }
    }`,
    { kind, id, until: embargoUntil?.toISOString() ?? null },
    key,
  );

beforeAll(async () => {
  keys = makeKeys();
  otherKeys = makeKeys("impostor");
  [a, b] = await Promise.all([
    startTestApp({ config: hubConfig("labA", keys), clock }),
    startTestApp({ config: hubConfig("labB", keys), clock }),
  ]);

  // Lab A: a LeNet, two digits, one batch of metamers (shared), a private model, an embargoed set.
  const labA = await a.createGroupWithKey("lab-a", "MEMBER");
  const ctxA: RequestContext = { groupId: labA.groupId, role: "MEMBER", apiKeyId: "test" };
  ids.generator = (await registerFixtureModel(a.services, ctxA, "lenet-a", "lenet.onnx", LENET_STAGES)).model.id;
  ids.privateModel = (await registerFixtureModel(a.services, ctxA, "secret-a", "mlp.onnx", {})).model.id;
  const pngs = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2);
  const { stimuli } = await addImageSet(a.services, ctxA, ids.generator, pngs);
  const synth = await a.gql(
    `mutation($i: SynthesizeMetamersInput!) { synthesizeMetamers(input: $i) { id } }`,
    { i: { modelId: ids.generator, stages: ["relu1"], stimulusIds: stimuli.map((s) => s.id), config: { rounds: 1, stepsPerRound: 10 }, seed: 3 } },
    labA.key,
  );
  expect(synth.errors).toBeUndefined();
  ids.batch = synth.data.synthesizeMetamers.id;
  const worker = inProcessWorker(a);
  try {
    await worker.drain();
  } finally {
    await worker.close();
  }
  const jobs = await a.gql(`query($id: ID!) { synthesisBatch(id: $id) { jobs { status metamer { id } } } }`, { id: ids.batch }, labA.key);
  ids.metamers = jobs.data.synthesisBatch.jobs.map((j: { metamer: { id: string } | null }) => j.metamer?.id).filter(Boolean).sort();
  expect(ids.metamers).toHaveLength(2);
  expect((await share(a, labA.key, "SYNTHESIS_BATCH", ids.batch)).errors).toBeUndefined();
  ids.embargoedSet = (await a.gql(`mutation { createStimulusSet(input: { name: "in press", modality: IMAGE }) { id } }`, {}, labA.key)).data.createStimulusSet.id;
  expect((await share(a, labA.key, "STIMULUS_SET", ids.embargoedSet, new Date(clock().getTime() + 7 * DAY))).data.share.state).toBe("EMBARGOED");

  // Lab B: its own models; the one it publishes to its consortium group is what its people see through the gateway.
  const labB = await b.createGroupWithKey("lab-b", "MEMBER");
  const ctxB: RequestContext = { groupId: labB.groupId, role: "MEMBER", apiKeyId: "test" };
  ids.bModel = (await registerFixtureModel(b.services, ctxB, "mlp-b", "mlp.onnx", {})).model.id;
  ids.bPrivateModel = (await registerFixtureModel(b.services, ctxB, "draft-b", "mlp.onnx", {})).model.id;
  expect((await share(b, labB.key, "MODEL", ids.bModel)).errors).toBeUndefined();

  gateway = await startGateway(gatewayConfig(keys.privateKeyFile), { clock: gatewayClock });
}, 240_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([a?.close(), b?.close()]);
});

describe("through the gateway", () => {
  it("composed both hubs with no hints", () => {
    expect(gateway.hints).toEqual([]);
    expect(gateway.supergraphSdl).toMatch(/join__graph\(name: "labA"/);
    expect(gateway.supergraphSdl).toMatch(/join__graph\(name: "labB"/);
  });

  it("a lab-B person reads lab A's shared metamers and lab B's models in one query", async () => {
    const r = await viaGateway(
      `query($batch: ID!, $m: ID!) {
        labA {
          synthesisBatch(id: $batch) { id jobs { metamer { id } } }
          metamer(id: $m) { id stage model { id name } }
        }
        labB { models { totalCount edges { node { id name } } } }
      }`,
      { batch: ids.batch, m: ids.metamers[0] },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.labA.synthesisBatch.id).toBe(ids.batch);
    expect(r.data.labA.synthesisBatch.jobs.map((j: { metamer: { id: string } }) => j.metamer.id).sort()).toEqual(ids.metamers);
    expect(r.data.labA.metamer).toEqual({ id: ids.metamers[0], stage: LENET_STAGES.relu1, model: { id: ids.generator, name: "lenet-a" } });
    // B's published model; its unpublished draft is private to lab B's own keys.
    expect(r.data.labB.models).toEqual({ totalCount: 1, edges: [{ node: { id: ids.bModel, name: "mlp-b" } }] });
  });

  it("an unshared lab-A model is absent, as if it did not exist", async () => {
    const r = await viaGateway(`query($id: ID!) { labA { model(id: $id) { id } models { edges { node { id } } } } }`, { id: ids.privateModel });
    expect(r.errors).toBeUndefined();
    expect(r.data.labA.model).toBeNull();
    expect(r.data.labA.models.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(ids.privateModel);
  });

  it("an embargoed share becomes visible once the clock passes its date", async () => {
    const q = `query($id: ID!) { labA { stimulusSet(id: $id) { id name } } }`;
    expect((await viaGateway(q, { id: ids.embargoedSet })).data.labA.stimulusSet).toBeNull();
    offset = 7 * DAY + 60_000;
    try {
      const r = await viaGateway(q, { id: ids.embargoedSet });
      expect(r.errors).toBeUndefined();
      expect(r.data.labA.stimulusSet).toEqual({ id: ids.embargoedSet, name: "in press" });
    } finally {
      offset = 0;
    }
  });

  it("refuses a request without a consortium key, or with an unknown one", async () => {
    const none = await fetch(gateway.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ labA { health { ok } } }" }) });
    expect(none.status).toBe(401);
    const wrong = await viaGateway(`{ labB { models { totalCount } } }`, {}, "mgk_not-a-key");
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]).toMatchObject({ message: "invalid consortium API key", extensions: { code: "UNAUTHENTICATED" } });
  });

  it("refuses a body over 1 MiB (413) and answers unknown paths with 404", async () => {
    const big = await fetch(gateway.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bobKey}` },
      body: JSON.stringify({ query: "{ labA { health { ok } } }", variables: { pad: "x".repeat(1024 * 1024) } }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await fetch(gateway.url.replace(/graphql$/, "nothing"))).status).toBe(404);
  });

  it("the hubs refuse the tokens of a gateway whose clock is an hour behind (expired)", async () => {
    gatewaySkew = -3600_000;
    try {
      const r = await viaGateway(`{ labB { models { totalCount } } }`);
      expect(r.data?.labB ?? null).toBeNull();
      expect(r.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
      expect(r.errors?.[0].message).toMatch(/partner token refused: expired at/);
    } finally {
      gatewaySkew = 0;
    }
  });

  it("serves its public key as a JWKS that a hub can verify its tokens with (key id = the key's thumbprint)", async () => {
    const jwks = (await (await fetch(gateway.jwksUrl)).json()) as { keys: { kid: string; alg: string; crv: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ alg: "EdDSA", crv: "Ed25519", kid: expect.stringMatching(/^[\w-]{43}$/) });
    const c = await startTestApp({ config: { hubName: "labC", consortium: { id: "neuro", issuer: "neuro", audience: "labC", jwks: gateway.jwksUrl } }, clock });
    const config = gatewayConfig(keys.privateKeyFile);
    const second = await startGateway({ ...config, subgraphs: [{ name: "labC", url: `${c.url}/graphql`, audience: "labC" }] }, { clock: gatewayClock });
    try {
      const r = await fetch(second.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${bobKey}` },
        body: JSON.stringify({ query: "{ labC { models { totalCount } } }" }),
      });
      expect(await r.json()).toEqual({ data: { labC: { models: { totalCount: 0 } } } });
    } finally {
      await second.close();
      await c.close();
    }
  });

  it("a gateway signing with another key does not start: the hubs refuse its tokens, and it says which", async () => {
    await expect(startGateway(gatewayConfig(otherKeys.privateKeyFile), { clock })).rejects.toThrow(
      /subgraph 'lab[AB]' .*expected \{ _service \{ sdl \} \}, got errors: .*partner token refused: signature does not verify/,
    );
  });
});

describe("lab A's subgraph called directly with a lab-B token", () => {
  const tokenB = () => partnerToken(keys.privateKey, "labA", { group: "lab-b" }, clock());

  it("does not show the unshared model, by query or by entity reference", async () => {
    const r = await a.gql(
      `query($id: ID!, $r: [_Any!]!) { model(id: $id) { id } _entities(representations: $r) { ... on Model { id } } }`,
      { id: ids.privateModel, r: [{ __typename: "Model", id: ids.privateModel }, { __typename: "Metamer", id: ids.metamers[0] }] },
      await tokenB(),
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.model).toBeNull();
    // The private model resolves to null; the shared batch's metamer resolves (it has no Model fields selected).
    expect(r.data._entities).toEqual([null, {}]);
  });

  it("refuses a token signed by another key, an expired token and a token for another consortium", async () => {
    const q = `query($id: ID!) { metamer(id: $id) { id } }`;
    const cases: [Promise<string>, RegExp][] = [
      [partnerToken(otherKeys.privateKey, "labA", {}, clock()), /signature does not verify/],
      [partnerToken(keys.privateKey, "labA", {}, new Date(clock().getTime() - 2 * 3600_000)), /expired at/],
      [partnerToken(keys.privateKey, "labA", { consortium: "astro" }, clock()), /it is for consortium "astro"/],
    ];
    for (const [token, message] of cases) {
      const r = await a.gql(q, { id: ids.metamers[0] }, await token);
      expect(r.data?.metamer ?? null).toBeNull();
      expect(r.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
      expect(r.errors?.[0].message).toMatch(message);
    }
    // The same query with a valid token sees the shared metamer.
    expect((await a.gql(q, { id: ids.metamers[0] }, await tokenB())).data.metamer).toEqual({ id: ids.metamers[0] });
  });
});
