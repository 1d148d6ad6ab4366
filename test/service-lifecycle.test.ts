// The service's lifecycle as an operator meets it: durable storage, exit codes, a port already taken, a second hub
// on the same data directory, and a restart after SIGKILL (which leaves the embedded PostgreSQL running, orphaned).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/store/embedded.js";
import { makeDataRoot, spawnService, untilHealthy, type ServiceProcess } from "./helpers/service-process.js";

const started: ServiceProcess[] = [];
let dataRoot: string | undefined;

afterAll(async () => {
  for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

function start(dataDir: string, port: number): ServiceProcess {
  const service = spawnService(dataDir, port);
  started.push(service);
  return service;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of the embedded PostgreSQL of a data directory, from its lock file (null when none is running). */
async function postmasterPid(dataDir: string): Promise<number | null> {
  const lock = path.join(dataDir, "postgres", "postmaster.pid");
  return existsSync(lock) ? Number((await readFile(lock, "utf8")).split("\n")[0]) : null;
}

async function showFsync(dataDir: string): Promise<string> {
  const config = JSON.parse(await readFile(path.join(dataDir, "postgres.json"), "utf8"));
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query("SHOW fsync")).rows[0].fsync;
  } finally {
    await client.end();
  }
}

describe("the embedded PostgreSQL", () => {
  it("leaves the exit code of the process that started it alone", async () => {
    const probe = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "test/helpers/exit-code-probe.ts"], {
      cwd: path.resolve(import.meta.dirname, ".."),
      stdio: "inherit",
    });
    const code = await new Promise((resolve) => probe.once("exit", (c, signal) => resolve(c ?? signal)));
    expect(code).toBe(3);
  }, 120_000);
});

describe("npm start's lifecycle", () => {
  it("runs durable, refuses a second hub, recovers from SIGKILL, exits 0 on SIGTERM and 1 on a taken port", async () => {
    dataRoot = await makeDataRoot();
    const dataDir = path.join(dataRoot, "data");

    // A first start: PostgreSQL's durable defaults (the tests' own cluster runs without fsync; the service never).
    const portA = await freePort();
    const a = start(dataDir, portA);
    await untilHealthy(a, portA);
    expect(await showFsync(dataDir)).toBe("on");
    const postgresOfA = await postmasterPid(dataDir);
    expect(postgresOfA).not.toBeNull();

    // A second hub on the same data directory is refused, naming the PostgreSQL it found, and changes nothing.
    const b = start(dataDir, await freePort());
    expect(await b.exited).toBe(1);
    const refusal = b.logs.join("\n");
    expect(refusal).toContain(`PostgreSQL (pid ${postgresOfA}, port`);
    expect(refusal).toContain(`belongs to the running process ${a.child.pid}`);
    expect(isAlive(postgresOfA!)).toBe(true);

    // SIGKILL leaves PostgreSQL running without its hub; the next start stops that orphan cleanly and goes on.
    a.child.kill("SIGKILL");
    await a.exited;
    expect(isAlive(postgresOfA!)).toBe(true);
    const portC = await freePort();
    const c = start(dataDir, portC);
    await untilHealthy(c, portC);
    expect(c.logs.join("\n")).toContain(`stopping the orphaned PostgreSQL (pid ${postgresOfA}`);
    expect(isAlive(postgresOfA!)).toBe(false);
    const postgresOfC = await postmasterPid(dataDir);

    // SIGTERM: a clean shutdown, exit code 0, PostgreSQL stopped, no runtime files left.
    c.child.kill("SIGTERM");
    expect(await c.exited).toBe(0);
    expect(isAlive(postgresOfC!)).toBe(false);
    expect(await postmasterPid(dataDir)).toBeNull();
    expect(existsSync(path.join(dataDir, "server.json"))).toBe(false);
    expect(existsSync(path.join(dataDir, "postgres.json"))).toBe(false);

    // A taken port: exit code 1, a message naming the cause, and nothing left running.
    const taken = net.createServer();
    const portD = await new Promise<number>((resolve) =>
      taken.listen(0, "127.0.0.1", () => resolve((taken.address() as net.AddressInfo).port)),
    );
    try {
      const d = start(dataDir, portD);
      expect(await d.exited).toBe(1);
      expect(d.logs.join("\n")).toContain(`port ${portD} on 127.0.0.1 is already in use`);
      expect(await postmasterPid(dataDir)).toBeNull();
    } finally {
      taken.close();
    }
  }, 300_000);
});
