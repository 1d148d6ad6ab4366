// The participant routes over real HTTP: only a participation token opens them (an API key is refused everywhere, a
// forged or spent token is refused), a token reaches its own participant's stimuli and nothing of another experiment,
// and request bodies are bounded.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture } from "./fixtures.js";

let app: TestApp;
let key: string;
/** Experiment A (group 1) and experiment B (another group), one participant link each (A has two). */
let a: { id: string; tokens: string[]; trials: StoredTrial[][] };
let b: { id: string; tokens: string[]; trials: StoredTrial[][] };

/** An experiment whose places are taken only through its entry URL. */
let c: { id: string; entryUrl: string };

async function experiment(groupName: string, participants: number) {
  const issued = await app.createGroupWithKey(groupName, "MEMBER");
  const ctx: RequestContext = { groupId: issued.groupId, role: "MEMBER", apiKeyId: "00000000-0000-0000-0000-000000000000" };
  const fx = await createExperimentFixture(app.store, issued.groupId, { stimuli: 6, extraStimuli: 4, models: 1, stages: ["fc"] });
  const created = await app.services.experiments.create(ctx, {
    name: groupName, stimulusSetId: fx.setId, batchIds: fx.batchIds, participants, seed: 5,
    practiceTrials: 1, demoTrials: 2, minDemoCorrect: 1, catchTrials: 1,
  });
  const { experiment, links } = created;
  const stored = await app.store.experiments.participants(experiment.id);
  return { id: experiment.id, tokens: links.map((l) => l.token), trials: stored.map((p) => p.trials as StoredTrial[]), key: issued.key, entryUrl: created.entryUrl };
}

interface Answer {
  status: number;
  code?: string;
  message?: string;
  headers: Headers;
  body: Buffer;
}

async function call(method: string, path: string, init: { token?: string; tokenInQuery?: boolean; auth?: string; body?: string | Buffer } = {}): Promise<Answer> {
  const url = new URL(path, app.url);
  const headers: Record<string, string> = {};
  if (init.token !== undefined && init.tokenInQuery) url.searchParams.set("token", init.token);
  else if (init.token !== undefined) headers["x-participation-token"] = init.token;
  if (init.auth) headers.authorization = init.auth;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, { method, headers, body: init.body });
  const body = Buffer.from(await res.arrayBuffer());
  let error: { message?: string; extensions?: { code?: string } } | undefined;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) error = JSON.parse(body.toString("utf8")).errors?.[0];
  return { status: res.status, code: error?.extensions?.code, message: error?.message, headers: res.headers, body };
}

const answer = (trialIndex: number, response: string) =>
  JSON.stringify({ trialIndex, response, rtMs: 400, onsetMs: 1000, offsetMs: 1300, stimulusFrames: 18, refreshHz: 60 });

beforeAll(async () => {
  app = await startTestApp();
  const first = await experiment("lab-a", 2);
  key = first.key;
  a = first;
  b = await experiment("lab-b", 1);
  c = await experiment("lab-c", 2);
}, 120_000);

afterAll(async () => {
  await app?.close();
});

describe("participant routes", () => {
  it("refuses an API key on every participant route, even with a valid token", async () => {
    const token = a.tokens[0];
    const stimulus = a.trials[0][0].stimulusKey;
    const routes: [string, string, string?][] = [
      ["GET", `/experiments/${a.id}/run?token=${token}`],
      ["GET", `/experiments/${a.id}/run/app.js`],
      ["GET", `/experiments/${a.id}/run/app.css`],
      ["GET", `/experiments/${a.id}/session`],
      ["POST", `/experiments/${a.id}/responses`, answer(0, a.trials[0][0].correctLabel)],
      ["POST", `/experiments/${a.id}/complete`, "{}"],
      ["GET", `/experiments/${a.id}/stimuli/${stimulus}`],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(method, path, { token, auth: `Bearer ${key}`, body });
      expect({ path, status: res.status, code: res.code }).toEqual({ path, status: 403, code: "FORBIDDEN" });
      expect(res.message).toMatch(/take no API key/);
    }
    // The refused requests changed nothing: no answer stored, the link not spent.
    expect(await app.store.experiments.responses((await app.store.experiments.participants(a.id))[0].id)).toEqual([]);
    expect((await call("GET", `/experiments/${a.id}/session`, { token })).status).toBe(200);
  });

  it("serves the page with its bundle and a strict content security policy", async () => {
    const page = await call("GET", `/experiments/${a.id}/run`, { token: a.tokens[0], tokenInQuery: true });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = page.body.toString("utf8");
    // No data in the page itself: not the token, not the experiment's texts.
    expect(html).not.toContain(a.tokens[0]);
    const script = /src="(run\/app\.js\?v=[^"]+)"/.exec(html)![1];
    const js = await call("GET", `/experiments/${a.id}/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    // jsPsych is in the bundle (no CDN).
    expect(js.body.toString("utf8")).toContain("jsPsych");
    const again = await fetch(new URL(`/experiments/${a.id}/${script}`, app.url), { headers: { "if-none-match": js.headers.get("etag")! } });
    expect(again.status).toBe(304);
    expect((await call("GET", `/experiments/not-an-id/run`, { token: a.tokens[0] })).code).toBe("BAD_USER_INPUT");
  });

  it("refuses a forged or missing token and a spent one, and does not store a replayed answer twice", async () => {
    const forged = randomBytes(32).toString("base64url");
    for (const [method, path, body] of [
      ["GET", `/experiments/${a.id}/session`],
      ["POST", `/experiments/${a.id}/responses`, answer(0, "cat")],
      ["POST", `/experiments/${a.id}/complete`, "{}"],
      ["GET", `/experiments/${a.id}/stimuli/${a.trials[0][0].stimulusKey}`],
    ] as [string, string, string?][]) {
      expect((await call(method, path, { token: forged, body })).code).toBe("UNAUTHENTICATED");
      expect((await call(method, path, { body })).code).toBe("UNAUTHENTICATED");
    }
    // The second participant of A answers its first trial twice (a retried post), then finishes.
    const token = a.tokens[1];
    const trials = a.trials[1];
    const firstTrial = trials[0];
    expect(JSON.parse((await call("POST", `/experiments/${a.id}/responses`, { token, body: answer(0, firstTrial.correctLabel) })).body.toString())).toEqual({ recorded: true });
    expect(JSON.parse((await call("POST", `/experiments/${a.id}/responses`, { token, body: answer(0, firstTrial.correctLabel) })).body.toString())).toEqual({ recorded: false });
    for (const t of trials.slice(1)) {
      const res = await call("POST", `/experiments/${a.id}/responses`, { token, body: answer(t.index, t.correctLabel) });
      expect(res.status).toBe(200);
    }
    const participant = (await app.store.experiments.participants(a.id))[1];
    expect((await app.store.experiments.responses(participant.id)).map((r) => r.trialIndex)).toEqual(trials.map((t) => t.index));
    const done = await call("POST", `/experiments/${a.id}/complete`, { token, body: "{}" });
    expect(JSON.parse(done.body.toString())).toMatchObject({ excluded: false });
    // The link is spent: the same token opens nothing any more.
    for (const [method, path, body] of [
      ["GET", `/experiments/${a.id}/session`],
      ["POST", `/experiments/${a.id}/responses`, answer(0, firstTrial.correctLabel)],
      ["POST", `/experiments/${a.id}/complete`, "{}"],
      ["GET", `/experiments/${a.id}/stimuli/${firstTrial.stimulusKey}`],
    ] as [string, string, string?][]) {
      const res = await call(method, path, { token, body });
      expect({ path, code: res.code }).toEqual({ path, code: "FORBIDDEN" });
      expect(res.message).toMatch(/already used/);
    }
  });

  it("gives a token its own stimuli and nothing of another experiment", async () => {
    const token = a.tokens[0];
    const own = a.trials[0].find((t) => t.phase === "main")!;
    const res = await call("GET", `/experiments/${a.id}/stimuli/${own.stimulusKey}`, { token, tokenInQuery: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.body.subarray(1, 4).toString("latin1")).toBe("PNG");
    // B's stimulus keys with A's token under A's path: not found.
    for (const t of b.trials[0]) {
      const other = await call("GET", `/experiments/${a.id}/stimuli/${t.stimulusKey}`, { token });
      expect({ status: other.status, code: other.code }).toEqual({ status: 404, code: "NOT_FOUND" });
      expect(other.body.length).toBeLessThan(300);
    }
    // A's token under B's path: refused as unknown on every route, before anything of B is looked at.
    for (const [method, path, body] of [
      ["GET", `/experiments/${b.id}/run`],
      ["GET", `/experiments/${b.id}/session`],
      ["POST", `/experiments/${b.id}/responses`, answer(0, own.correctLabel)],
      ["POST", `/experiments/${b.id}/complete`, "{}"],
      ["GET", `/experiments/${b.id}/stimuli/${b.trials[0][0].stimulusKey}`],
      ["GET", `/experiments/${b.id}/stimuli/${own.stimulusKey}`],
    ] as [string, string, string?][]) {
      const res = await call(method, path, { token, body });
      expect({ path, status: res.status, code: res.code }).toEqual({ path, status: 401, code: "UNAUTHENTICATED" });
      expect(res.message).toBe("token: no participation link of this experiment has this token");
    }
    // ...while B's own token gets B's stimuli.
    expect((await call("GET", `/experiments/${b.id}/stimuli/${b.trials[0][0].stimulusKey}`, { token: b.tokens[0] })).status).toBe(200);
  });

  it("gives a Prolific participant arriving at the entry URL a place and a token, the same place when it comes back", async () => {
    const entry = new URL(c.entryUrl);
    const visit = async (query: string, auth?: string) => {
      const res = await fetch(new URL(`${entry.pathname}${entry.search}${query}`, app.url), { redirect: "manual", headers: auth ? { authorization: auth } : {} });
      const location = res.headers.get("location");
      return { status: res.status, location, token: location ? new URL(location, app.url).searchParams.get("token") : null, body: await res.text() };
    };
    const first = await visit("&PROLIFIC_PID=pidA&STUDY_ID=s1&SESSION_ID=x1");
    expect(first.status).toBe(303);
    expect(first.location).toMatch(/^run\?token=[A-Za-z0-9_-]{43}&PROLIFIC_PID=pidA&STUDY_ID=s1&SESSION_ID=x1$/);
    const session = await call("GET", `/experiments/${c.id}/session?PROLIFIC_PID=pidA&STUDY_ID=s1&SESSION_ID=x1`, { token: first.token! });
    expect(session.status).toBe(200);
    const placeA = JSON.parse(session.body.toString()).participantId;
    // Coming back through the entry URL: a new token for the same place; the earlier one stops working.
    const again = await visit("&PROLIFIC_PID=pidA&STUDY_ID=s1&SESSION_ID=x2");
    expect(again.token).not.toBe(first.token);
    expect(JSON.parse((await call("GET", `/experiments/${c.id}/session`, { token: again.token! })).body.toString()).participantId).toBe(placeA);
    expect((await call("GET", `/experiments/${c.id}/session`, { token: first.token! })).code).toBe("UNAUTHENTICATED");
    // Another participant gets the other place; a third finds none left.
    const other = await visit("&PROLIFIC_PID=pidB");
    expect(JSON.parse((await call("GET", `/experiments/${c.id}/session`, { token: other.token! })).body.toString()).participantId).not.toBe(placeA);
    expect(JSON.parse((await visit("&PROLIFIC_PID=pidC")).body).errors[0].extensions.code).toBe("FORBIDDEN");
    // Refused: no Prolific id, a forged entry key, an API key, an entry key together with a token.
    expect(JSON.parse((await visit("")).body).errors[0].message).toMatch(/PROLIFIC_PID/);
    const forged = await fetch(new URL(`/experiments/${c.id}/run?entry=${randomBytes(32).toString("base64url")}&PROLIFIC_PID=pidD`, app.url), { redirect: "manual" });
    expect(forged.status).toBe(401);
    expect((await visit("&PROLIFIC_PID=pidA", `Bearer ${key}`)).status).toBe(403);
    expect((await visit(`&PROLIFIC_PID=pidA&token=${again.token}`)).status).toBe(400);
  });

  it("bounds and checks request bodies", async () => {
    const token = a.tokens[0];
    const big = await call("POST", `/experiments/${a.id}/responses`, { token, body: JSON.stringify({ pad: "x".repeat(17 * 1024) }) });
    expect({ status: big.status, code: big.code }).toEqual({ status: 413, code: "PAYLOAD_TOO_LARGE" });
    const notJson = await call("POST", `/experiments/${a.id}/responses`, { token, body: "trialIndex=0" });
    expect(notJson.code).toBe("BAD_USER_INPUT");
    expect(notJson.message).toMatch(/expected a JSON object, got unparsable text/);
    const array = await call("POST", `/experiments/${a.id}/responses`, { token, body: "[]" });
    expect(array.message).toMatch(/expected a JSON object, got an array/);
    const missing = await call("POST", `/experiments/${a.id}/responses`, { token, body: JSON.stringify({ response: "cat" }) });
    expect(missing.code).toBe("BAD_USER_INPUT");
    expect(missing.message).toMatch(/trialIndex/);
    const two = await fetch(new URL(`/experiments/${a.id}/session?token=${a.tokens[1]}`, app.url), { headers: { "x-participation-token": token } });
    expect(two.status).toBe(400);
  });
});
