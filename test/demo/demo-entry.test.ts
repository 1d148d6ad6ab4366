// `npm run demo`'s entry: its arguments, and how it finds the service (the CLI's resolveServer: flag, METAMERS_URL,
// the data dir's server.json, default; key from METAMERS_API_KEY or the data dir's api-key), against a real server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/cli/client.js";
import { resolveServer } from "../../src/cli/local-server.js";
import { DEMO_MODELS_DIR } from "../../src/demo/manifest.js";
import { parseDemoArgs } from "../../src/demo/options.js";
import { connect } from "../../src/demo/service.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

describe("demo arguments", () => {
  it("default to 8 x 150 steps, 10 digits per class, 1 shown, demo-report.html; --full is the paper's 8 x 3000", () => {
    expect(parseDemoArgs([])).toEqual({
      help: false,
      url: undefined,
      options: {
        schedule: { rounds: 8, stepsPerRound: 150 },
        perClass: 10,
        shown: 1,
        out: path.resolve("demo-report.html"),
        modelsDir: DEMO_MODELS_DIR,
        reference: { pairs: 100_000 },
      },
    });
    expect(parseDemoArgs(["--reference-pairs", "20000"])).toMatchObject({ options: { reference: { pairs: 20_000 } } });
    expect(parseDemoArgs(["--per-set-null"])).toMatchObject({ options: { reference: false } });
    const full = parseDemoArgs(["--full", "--per-class", "2", "--shown", "2", "--out", "/tmp/r.html", "--url", "http://h:1"]);
    expect(full).toMatchObject({ url: "http://h:1", options: { schedule: { rounds: 8, stepsPerRound: 3000 }, perClass: 2, shown: 2, out: "/tmp/r.html" } });
    expect(parseDemoArgs(["--rounds", "2", "--steps", "5"])).toMatchObject({ options: { schedule: { rounds: 2, stepsPerRound: 5 } } });
    expect(parseDemoArgs(["--help"])).toEqual({ help: true });
  });

  it("refuses a bad count or an unknown flag with BAD_USER_INPUT and the usage", () => {
    expect(() => parseDemoArgs(["--steps", "0"])).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT", message: expect.stringMatching(/^--steps: expected a positive integer, got '0'\nusage: npm run demo/) }));
    expect(() => parseDemoArgs(["--per-class", "1.5"])).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT", message: expect.stringContaining("got '1.5'") }));
    expect(() => parseDemoArgs(["--frobnicate"])).toThrow(expect.objectContaining({ code: "BAD_USER_INPUT", message: expect.stringMatching(/--frobnicate[\s\S]*usage: npm run demo/) }));
  });
});

describe("finding the service", () => {
  let t: TestApp;
  let key: string;
  let tmp: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("demo-lab", "MEMBER"));
    tmp = mkdtempSync(path.join(tmpdir(), "demo-entry-"));
  });
  afterAll(async () => {
    await t?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("connects to the server named by the data dir's server.json with the key in its api-key", async () => {
    const dataDir = path.join(tmp, "data");
    mkdirSync(dataDir);
    writeFileSync(path.join(dataDir, "server.json"), JSON.stringify({ url: `${t.url}/graphql`, pid: 1 }));
    writeFileSync(path.join(dataDir, "api-key"), `${key}\n`);
    const lines: string[] = [];
    const service = await connect({ dataDir }, {}, (line) => lines.push(line));
    expect(service.client.url).toBe(t.url);
    expect(lines).toEqual([`using the service at ${t.url}`]);
    // The key from api-key authenticates: an authenticated query answers the caller's (empty) model list.
    const data = await service.client.gql<{ models: { totalCount: number } }>(`query DemoCount { models(first: 1) { totalCount } }`);
    expect(data.models.totalCount).toBe(0);
    // Downloads go through the same client, with the API's error codes.
    await expect(service.client.download("0".repeat(64))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await service.stop();
  });

  it("names a malformed server.json, unless --url or METAMERS_URL makes it irrelevant", () => {
    const dataDir = path.join(tmp, "broken");
    mkdirSync(dataDir);
    writeFileSync(path.join(dataDir, "server.json"), "{ half-written");
    let thrown: unknown;
    try {
      resolveServer({ dataDir }, {});
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect(thrown).toMatchObject({ code: "BAD_LOCAL_CONFIG" });
    expect((thrown as Error).message).toContain(`${path.join(dataDir, "server.json")}: expected JSON like {"url":`);
    expect((thrown as Error).message).toContain('got "{ half-written"');
    expect(resolveServer({ dataDir }, { url: "http://f:2/" }).url).toBe("http://f:2");
    expect(resolveServer({ dataDir, url: "http://e:3/graphql" }, {}).url).toBe("http://e:3");
  });
});
