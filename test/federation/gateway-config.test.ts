// The gateway's configuration and command line: every mistake stops it with a message naming the field, and
// `--new-user` makes a key whose hash is what the config file stores.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseGatewayConfig } from "../../src/gateway/config.js";
import { startGateway } from "../../src/gateway/gateway.js";
import { findUser, hashGatewayKey } from "../../src/gateway/tokens.js";
import { makeKeys } from "./consortium.js";

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, "../..");
const gatewayCli = (args: string[]) =>
  run(process.execPath, ["--import", "@swc-node/register/esm-register", "src/gateway/main.ts", ...args], { cwd: repo }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const keys = makeKeys("gateway-config");
const valid = {
  consortium: { id: "neuro" },
  privateKey: path.basename(keys.privateKeyFile),
  subgraphs: [{ name: "labA", url: "http://127.0.0.1:1/graphql" }],
  users: [{ subject: "bob", group: "lab-b", keySha256: hashGatewayKey("mgk_bob") }],
};

describe("gateway configuration", () => {
  it("reads a valid file: defaults filled in, the key read relative to the file, users found by their key", () => {
    const c = parseGatewayConfig(valid, keys.dir);
    expect(c).toMatchObject({ consortiumId: "neuro", issuer: "neuro", algorithm: "EdDSA", tokenTtlSeconds: 60, port: 4100 });
    expect(c.subgraphs).toEqual([{ name: "labA", url: "http://127.0.0.1:1/graphql", audience: "labA" }]);
    expect(c.privateKeyPem).toContain("BEGIN PRIVATE KEY");
    expect(findUser(c, "mgk_bob")).toEqual({ subject: "bob", group: "lab-b" });
    expect(findUser(c, "mgk_eve")).toBeNull();
  });

  it.each([
    [{ ...valid, subgraphs: [] }, /subgraphs: .*>=1|subgraphs: .*at least 1/i],
    [{ ...valid, subgraphs: [{ name: "lab-a", url: "http://x/graphql" }] }, /subgraphs\.0\.name: expected the hub's METAMERS_HUB_NAME/],
    [{ ...valid, users: [{ subject: "bob", group: "g", keySha256: "mgk_plain" }] }, /users\.0\.keySha256: expected the sha256 of the key/],
    [{ ...valid, subgraphs: [valid.subgraphs[0], valid.subgraphs[0]] }, /subgraphs: expected distinct names, got 'labA' twice/],
    [{ ...valid, privateKey: "missing.key" }, /privateKey: expected a readable PEM file, could not read .*missing\.key/],
    [{ ...valid, consortium: {} }, /consortium\.id: /],
  ])("refuses a bad file, naming the field (%#)", (raw, message) => {
    expect(() => parseGatewayConfig(raw, keys.dir)).toThrow(message);
  });

  it("does not start when a subgraph does not answer, naming it", async () => {
    await expect(startGateway(parseGatewayConfig(valid, keys.dir))).rejects.toThrow(/subgraph 'labA' \(http:\/\/127\.0\.0\.1:1\/graphql\): could not fetch its SDL/);
  });
});

describe("npm run gateway", () => {
  it("--new-user prints a key and the users entry holding its hash", async () => {
    const r = await gatewayCli(["--new-user", "alice@lab-a", "--group", "lab-a"]);
    expect(r.code).toBe(0);
    const key = /: (mgk_\S+)/.exec(r.stdout)![1];
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toEqual({ subject: "alice@lab-a", group: "lab-a", keySha256: hashGatewayKey(key) });
  });

  it("exits 1 with the reason on a bad config file", async () => {
    const file = path.join(keys.dir, "bad.json");
    writeFileSync(file, JSON.stringify({ ...valid, subgraphs: [] }));
    const r = await gatewayCli(["--config", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gateway: .*bad\.json: invalid:\n {2}subgraphs: /);
  });
});
