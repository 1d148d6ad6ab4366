// `npm start` end to end: a fresh data directory, health, the admin key file, and a restart that keeps the data. Runs
// the real entry point (src/main.ts) as a child process. How fast it starts is printed, not asserted: a wall-clock
// bound fails on a loaded machine and proves nothing on an idle one (the README gives the figure).
import type { ChildProcess } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/store/embedded.js";
import { createTestDatabase } from "./helpers/db.js";
import { makeDataRoot, spawnService, untilHealthy } from "./helpers/service-process.js";

let dataRoot: string;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

/** Starts the service and resolves once health answers (the test's timeout bounds the wait; no deadline here). */
async function start(dataDir: string, port: number, databaseUrl = ""): Promise<{ child: ChildProcess; logs: string[]; readyMs: number }> {
  const began = performance.now();
  const service = spawnService(dataDir, port, { DATABASE_URL: databaseUrl });
  children.push(service.child);
  await untilHealthy(service, port);
  return { child: service.child, logs: service.logs, readyMs: performance.now() - began };
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
