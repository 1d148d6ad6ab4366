// `npm start` end to end: a fresh data directory, health within 15 s, the admin key file, and a restart that keeps
// the data. Runs the real entry point (src/main.ts) as a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/store/embedded.js";
import { createTestDatabase } from "./helpers/db.js";
import { makeDataRoot } from "./helpers/service-process.js";

const repo = path.resolve(import.meta.dirname, "..");
let dataRoot: string;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

async function start(dataDir: string, port: number, databaseUrl = ""): Promise<{ child: ChildProcess; logs: string[]; readyMs: number }> {
  const logs: string[] = [];
  const began = performance.now();
  const child = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: repo,
    env: { ...process.env, METAMERS_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  child.stdout!.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
  child.stderr!.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${logs.join("\n")}`);
    if ((await health(port)) === true) return { child, logs, readyMs: performance.now() - began };
    if (performance.now() - began > 90_000) throw new Error(`no health after 90 s:\n${logs.join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function health(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ health { ok } }" }),
    });
    return ((await res.json()) as any).data?.health?.ok === true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

describe("npm start", () => {
  it("serves health on a fresh data directory, writes the admin key, and keeps the data across a restart", async () => {
    dataRoot = await makeDataRoot();
    const dataDir = path.join(dataRoot, "data");
    const port = await freePort();

    const first = await start(dataDir, port);
    // The 15 s target is for an idle machine; the bound here leaves room for a loaded CI runner.
    expect(first.readyMs).toBeLessThan(90_000);
    const keyFile = path.join(dataDir, "api-key");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyFile, "utf8")).trim();
    expect(first.logs.join("\n")).toContain(key); // printed once, on first start
    expect(first.logs.some((l) => l.includes(`/graphql`) && l.includes(dataDir))).toBe(true);

    const gql = (query: string) =>
      fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query }),
      }).then((r) => r.json() as Promise<any>);
    const set = await gql(`mutation { createStimulusSet(input: { name: "kept", modality: IMAGE }) { id } }`);
    expect(set.errors).toBeUndefined();
    await stop(first.child);

    const second = await start(dataDir, port);
    expect(second.readyMs).toBeLessThan(90_000);
    expect(second.logs.join("\n")).not.toContain(key); // no new key on restart
    const again = await gql(`{ me { groupName role } stimulusSets { edges { node { id name } } } }`);
    expect(again.data.me).toEqual({ groupName: "local", role: "ADMIN" });
    expect(again.data.stimulusSets.edges.map((e: any) => e.node)).toEqual([{ id: set.data.createStimulusSet.id, name: "kept" }]);
    await stop(second.child);
    console.info(`npm start: first start ${Math.round(first.readyMs)} ms, restart ${Math.round(second.readyMs)} ms`);
  }, 240_000);

  it("uses the PostgreSQL of DATABASE_URL instead of starting one", async () => {
    const db = await createTestDatabase();
    try {
      dataRoot ??= await makeDataRoot();
      const dataDir = path.join(dataRoot, "external");
      const port = await freePort();
      const { user, password, host, port: pgPort, database } = db.config;
      const server = await start(dataDir, port, `postgres://${user}:${password}@${host}:${pgPort}/${database}`);
      expect(server.logs.join("\n")).toContain("using the PostgreSQL from DATABASE_URL");
      await expect(stat(path.join(dataDir, "postgres"))).rejects.toThrow(); // no embedded cluster
      // the service wrote its first group into that database
      expect(await db.store.groups.findGroupByName("local")).not.toBeNull();
      await stop(server.child);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
