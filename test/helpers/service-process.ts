// `npm start`'s entry point (src/main.ts) as a child process, for the tests of the service's lifecycle.
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const repo = path.resolve(import.meta.dirname, "../..");

export interface ServiceProcess {
  child: ChildProcess;
  /** stdout and stderr lines so far */
  logs: string[];
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
}

/**
 * A temporary folder to hold a data directory. Under root the embedded PostgreSQL runs as the `postgres` user,
 * which must be able to pass through it (mkdtemp makes it 0700): search permission only.
 */
export async function makeDataRoot(prefix = "metamers-start-"): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(root, 0o711);
  return root;
}

/** Spawns the service on `dataDir` and `port` (it may fail to start: see `exited`). */
export function spawnService(dataDir: string, port: number, env: Record<string, string> = {}): ServiceProcess {
  const child = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: repo,
    env: { ...process.env, METAMERS_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  child.stdout!.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
  child.stderr!.on("data", (d) => logs.push(...String(d).split("\n").filter(Boolean)));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal!)));
  return { child, logs, exited };
}

export async function health(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ health { ok } }" }),
    });
    return ((await res.json()) as { data?: { health?: { ok?: boolean } } }).data?.health?.ok === true;
  } catch {
    return false;
  }
}

/** Resolves when health answers; rejects (with the service's output) if it exits first. */
export async function untilHealthy(service: ServiceProcess, port: number): Promise<void> {
  let exit: number | string | undefined;
  void service.exited.then((e) => (exit = e));
  for (;;) {
    if (exit !== undefined) throw new Error(`the service exited with ${exit}:\n${service.logs.join("\n")}`);
    if (await health(port)) return;
    // Polling, not a deadline: the test's own timeout bounds the wait.
    await new Promise((r) => setTimeout(r, 200));
  }
}
