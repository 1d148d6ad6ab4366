// Partner tokens at one hub: a verified token of the hub's consortium becomes a partner identity that sees what was
// shared with its group and nothing else; every other token is refused with UNAUTHENTICATED and says why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { makeKeys, partnerToken, type TestKeys } from "../federation/consortium.js";

let keys: TestKeys;
let otherKeys: TestKeys;
let hub: TestApp;
let jwksHub: TestApp;
let lonelyHub: TestApp;
let owner: { key: string };
let shared: string;
let unshared: string;

const consortium = (k: TestKeys, via: "pem" | "jwks" = "pem") => ({
  id: "neuro",
  issuer: "neuro",
  audience: "labA",
  ...(via === "pem" ? { publicKeyFile: k.publicKeyFile } : { jwks: k.jwksFile }),
});

const SETS = `query($a: ID!, $b: ID!) { a: stimulusSet(id: $a) { id name } b: stimulusSet(id: $b) { id } }`;

beforeAll(async () => {
  keys = makeKeys();
  otherKeys = makeKeys("impostor");
  [hub, jwksHub, lonelyHub] = await Promise.all([
    startTestApp({ config: { hubName: "labA", consortium: consortium(keys) } }),
    startTestApp({ config: { hubName: "labA", consortium: consortium(keys, "jwks") } }),
    startTestApp({ config: { hubName: "labA" } }),
  ]);
  owner = await hub.createGroupWithKey("lab-a", "MEMBER");
  const create = async (name: string) =>
    (await hub.gql(`mutation($n: String!) { createStimulusSet(input: { name: $n, modality: IMAGE }) { id } }`, { n: name }, owner.key)).data.createStimulusSet.id as string;
  [shared, unshared] = [await create("shared"), await create("private")];
  const r = await hub.gql(
    `mutation($id: ID!) { share(input: { kind: STIMULUS_SET, id: $id, target: { kind: PARTNER, consortiumId: "neuro", partnerGroup: "lab-b" } }) { id } }`,
    { id: shared },
    owner.key,
  );
  expect(r.errors).toBeUndefined();
});
afterAll(async () => {
  await Promise.all([hub?.close(), jwksHub?.close(), lonelyHub?.close()]);
});

function expectRefused(r: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] }, message: RegExp) {
  expect(r.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  expect(r.errors?.[0].message).toMatch(message);
  expect(r.data?.a ?? null).toBeNull();
}

describe("a valid partner token", () => {
  it("sees what was shared with its consortium group, and another group's private set as absent", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA"));
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: { id: shared, name: "shared" }, b: null });
  });

  it("of another group of the same consortium sees nothing", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA", { group: "lab-c" }));
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: null, b: null });
  });

  it("is verified against a JWKS file too", async () => {
    const r = await jwksHub.gql(`{ me { role } }`, {}, await partnerToken(keys.privateKey, "labA", { kid: "consortium" }));
    // A partner is no group of the hub: `me` says so (FORBIDDEN), which proves the token was accepted.
    expect(r.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    expect(r.errors?.[0].message).toMatch(/partner identities \(consortium 'neuro', group 'lab-b'\)/);
  });

  it("cannot change anything", async () => {
    const r = await hub.gql(`mutation { createStimulusSet(input: { name: "x", modality: IMAGE }) { id } }`, {}, await partnerToken(keys.privateKey, "labA"));
    expect(r.errors?.[0].extensions?.code).toBe("FORBIDDEN");
  });
});

describe("refused partner tokens", () => {
  it("signed by another key", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(otherKeys.privateKey, "labA"));
    expectRefused(r, /^partner token refused: signature does not verify with the public key of consortium 'neuro'/);
  });

  it("signed by another key, against a JWKS", async () => {
    const r = await jwksHub.gql(SETS, { a: shared, b: unshared }, await partnerToken(otherKeys.privateKey, "labA"));
    expectRefused(r, /^partner token refused: signature does not verify/);
  });

  it("expired", async () => {
    const past = new Date(Date.now() - 3600_000);
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA", {}, past));
    expectRefused(r, /^partner token refused: expired at \d{4}-\d\d-\d\dT.*\(hub time /);
  });

  it("for another consortium", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA", { consortium: "astro" }));
    expectRefused(r, /^partner token refused: it is for consortium "astro"; this hub accepts consortium 'neuro' only/);
  });

  it("for another hub (audience)", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labB"));
    expectRefused(r, /^partner token refused: claim 'aud' check_failed \(expected 'labA'\)/);
  });

  it("from another issuer", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA", { iss: "someone-else" }));
    expectRefused(r, /^partner token refused: claim 'iss' check_failed \(expected 'neuro'\)/);
  });

  it("claiming a role other than READER", async () => {
    const r = await hub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA", { role: "ADMIN" }));
    expectRefused(r, /^partner token refused: claim 'role': expected "READER" \(partners only read\), got "ADMIN"/);
  });

  it("at a hub configured for no consortium", async () => {
    const r = await lonelyHub.gql(SETS, { a: shared, b: unshared }, await partnerToken(keys.privateKey, "labA"));
    expectRefused(r, /^partner token refused: this hub is not configured for any consortium/);
  });

  it("malformed", async () => {
    const token = await partnerToken(keys.privateKey, "labA");
    const r = await hub.gql(SETS, { a: shared, b: unshared }, `${token.split(".")[0]}.e30x.${token.split(".")[2]}`);
    expectRefused(r, /^partner token refused: /);
  });
});

describe("consortium configuration", () => {
  it("fetches the consortium's JWKS from a URL", async () => {
    const { createServer } = await import("node:http");
    const { readFileSync } = await import("node:fs");
    let fetched = 0;
    const server = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { "content-type": "application/json" }).end(readFileSync(keys.jwksFile));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
    const urlHub = await startTestApp({ config: { hubName: "labA", consortium: { id: "neuro", issuer: "neuro", audience: "labA", jwks: url } } });
    try {
      const ok = await urlHub.gql(`{ me { role } }`, {}, await partnerToken(keys.privateKey, "labA", { kid: "consortium" }));
      expect(ok.errors?.[0].extensions?.code).toBe("FORBIDDEN"); // accepted: a partner, not a group of the hub
      const bad = await urlHub.gql(`{ me { role } }`, {}, await partnerToken(otherKeys.privateKey, "labA", { kid: "consortium" }));
      expect(bad.errors?.[0].message).toMatch(/^partner token refused: signature does not verify/);
      expect(fetched).toBeGreaterThan(0);
    } finally {
      await urlHub.close();
      server.close();
    }
  });

  it.each([
    [{ METAMERS_CONSORTIUM_PUBLIC_KEY: "c.pub" }, /METAMERS_CONSORTIUM_ID: expected a consortium id with METAMERS_CONSORTIUM_PUBLIC_KEY, got none/],
    [{ METAMERS_CONSORTIUM_ID: "neuro" }, /expected exactly one \(the consortium's signing key\), got neither/],
    [{ METAMERS_CONSORTIUM_ID: "neuro", METAMERS_CONSORTIUM_PUBLIC_KEY: "a", METAMERS_CONSORTIUM_JWKS: "b" }, /got both/],
    [{ METAMERS_HUB_NAME: "lab-a" }, /METAMERS_HUB_NAME: expected a GraphQL name .*\(got "lab-a"\)/],
  ])("refuses an incomplete consortium setting, naming the variable (%#)", async (env, message) => {
    const { loadConfig } = await import("../../src/config.js");
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reads the settings: issuer and audience default to the consortium id and the hub name", async () => {
    const { loadConfig } = await import("../../src/config.js");
    const c = loadConfig({ METAMERS_HUB_NAME: "labA", METAMERS_CONSORTIUM_ID: "neuro", METAMERS_CONSORTIUM_JWKS: "https://gw.example/jwks.json" });
    expect(c.hubName).toBe("labA");
    expect(c.consortium).toEqual({ id: "neuro", issuer: "neuro", audience: "labA", publicKeyFile: undefined, jwks: "https://gw.example/jwks.json" });
  });

  it("a hub whose key file is not a key does not start (its services are not made), naming the file", async () => {
    const { PartnerIdentityService } = await import("../../src/services/partner-identity.js");
    const consortium = { id: "neuro", issuer: "neuro", audience: "hub" };
    expect(() => new PartnerIdentityService({ ...consortium, publicKeyFile: keys.jwksFile })).toThrow(
      /METAMERS_CONSORTIUM_PUBLIC_KEY: expected a PEM public key file, could not use .*consortium\.jwks\.json/,
    );
    expect(() => new PartnerIdentityService({ ...consortium, jwks: keys.publicKeyFile })).toThrow(
      /METAMERS_CONSORTIUM_JWKS: expected a JWKS JSON file \(\{ "keys": \[\.\.\.\] \}\), could not use .*consortium\.pub/,
    );
  });
});

describe("rate limit", () => {
  it("counts partners per person, not per gateway address", async () => {
    const { defaultConfig } = await import("../../src/config.js");
    const limited = await startTestApp({
      config: { hubName: "labA", consortium: consortium(keys), api: { ...defaultConfig().api, rateLimitPerSecond: 0.001, rateLimitBurst: 2 } },
    });
    try {
      const bob = await partnerToken(keys.privateKey, "labA", { sub: "bob" });
      const q = `{ health { ok } }`;
      expect((await limited.gql(q, {}, bob)).status).toBe(200);
      expect((await limited.gql(q, {}, bob)).status).toBe(200);
      const third = await limited.gql(q, {}, bob);
      expect(third.status).toBe(429);
      expect(third.errors?.[0].message).toMatch(/per partner identity; retry in \d+ s/);
      // Another person of the same consortium, from the same address, has a bucket of their own.
      expect((await limited.gql(q, {}, await partnerToken(keys.privateKey, "labA", { sub: "carol" }))).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
