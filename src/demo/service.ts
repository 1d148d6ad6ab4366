// The service `npm run demo` talks to: the one the CLI would find (resolveServer), or, when none answers there, the
// embedded one (`npm start`'s entry point: embedded PostgreSQL + workers) started for the run and stopped after it.
import { spawn, type ChildProcess } from "node:child_process";
import type { CliEnvironment } from "../config.js";
import { ApiError, MetamersClient } from "../cli/client.js";
import { normalizeServerUrl, readServerFile, resolveServer } from "../cli/local-server.js";
import { REPO_ROOT } from "./manifest.js";

export interface DemoService {
  client: MetamersClient;
  stop(): Promise<void>;
}

const STARTUP_LIMIT_MS = 120_000;

export async function connect(env: CliEnvironment, flags: { url?: string; key?: string }, log: (line: string) => void): Promise<DemoService> {
  const server = resolveServer(env, flags);
  const existing = new MetamersClient(server.url, server.key);
  if (await existing.healthy()) {
    log(`using the service at ${server.url}`);
    return { client: existing, stop: async () => {} };
  }
  log(`no service answers at ${server.url}; starting the embedded one (data in ${env.dataDir})`);
  return startEmbedded(env, flags, log);
}

async function startEmbedded(env: CliEnvironment, flags: { key?: string }, log: (line: string) => void): Promise<DemoService> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: REPO_ROOT,
    // The child runs in the repository root: an absolute data dir makes it use the one this process reads.
    env: { ...process.env, METAMERS_DATA_DIR: env.dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let exited: number | null = null;
  child.on("exit", (code) => (exited = code ?? 1));
  // The service started here must not outlive the demo, whichever way the demo ends.
  const killChild = () => {
    if (exited === null) child.kill("SIGTERM");
  };
  process.once("exit", killChild);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killChild();
      process.exit(130);
    });
  }
  const started = Date.now();
  for (;;) {
    if (exited !== null) throw new ApiError(`the embedded service exited with code ${exited} before answering`, "UNREACHABLE");
    if (Date.now() - started > STARTUP_LIMIT_MS) {
      killChild();
      throw new ApiError(`the embedded service did not answer health within ${STARTUP_LIMIT_MS / 1000} s`, "UNREACHABLE");
    }
    // A server.json of an earlier, crashed service may be there: only the child's own (its pid) counts. One caught
    // half-written reads as malformed: the next poll reads it whole.
    const file = (() => {
      try {
        return readServerFile(env.dataDir);
      } catch {
        return undefined;
      }
    })();
    if (file && file.pid === child.pid) {
      // The key is read now: the child's first start is what writes the data dir's api-key.
      const client = new MetamersClient(normalizeServerUrl(file.url), resolveServer({ ...env, url: file.url }, { key: flags.key }).key);
      if (await client.healthy()) {
        log(`embedded service up at ${client.url} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return {
          client,
          stop: () =>
            new Promise<void>((resolve) => {
              if (exited !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
            }),
        };
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}
