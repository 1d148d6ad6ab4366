import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AppConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { PgConfig } from "../store/pg-config.js";
import type { Dispatcher } from "./dispatcher.js";
import type { WorkerMessage } from "./worker-process.js";

export interface LocalPoolOptions {
  size: number;
  database: PgConfig;
  config: AppConfig;
  log: Logger;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  /** Replace a worker that died (default true). */
  respawn?: boolean;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");

/**
 * The embedded dispatcher: `size` worker processes (METAMERS_WORKERS, default one per core) claiming jobs from
 * PostgreSQL. A worker that dies is replaced; its job is resumed by whichever worker claims it after the lease.
 */
export class LocalWorkerPool implements Dispatcher {
  readonly kind = "local" as const;
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  private nextId = 0;

  constructor(private readonly options: LocalPoolOptions) {}

  /** Starts the workers and resolves once every one of them is connected and polling. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()));
    this.options.log.info({ event: "pool.started", workers: this.options.size }, "local worker pool started");
  }

  /** Process ids of the live workers (for operators and fault tests). */
  pids(): number[] {
    return [...this.children.values()].map((c) => c.pid!).filter(Boolean);
  }

  async dispatch(): Promise<void> {
    for (const child of this.children.values()) send(child, { type: "wake" });
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            send(child, { type: "stop" });
          }),
      ),
    );
    this.children.clear();
  }

  private spawn(): Promise<void> {
    const workerId = `pool-${++this.nextId}`;
    const ts = import.meta.url.endsWith(".ts");
    const entry = path.join(here, ts ? "worker-process.ts" : "worker-process.js");
    const child = fork(entry, [], {
      cwd: repoRoot, // @swc-node/register reads tsconfig.json from the working directory
      execArgv: ts ? ["--import", "@swc-node/register/esm-register"] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.children.set(workerId, child);
    child.on("exit", (code, signal) => {
      this.children.delete(workerId);
      if (this.stopping) return;
      this.options.log.warn({ event: "pool.worker_exited", workerId, pid: child.pid, code, signal }, "worker exited; replacing it");
      if (this.options.respawn !== false) void this.spawn().catch((e) => this.options.log.error({ err: e }, "worker respawn failed"));
    });
    return new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.on("message", (m: { type?: string }) => {
        if (m?.type === "ready") resolve();
      });
      send(child, {
        type: "init",
        workerId,
        database: this.options.database,
        config: this.options.config,
        leaseMs: this.options.leaseMs ?? this.options.config.jobs.leaseMs,
        heartbeatMs: this.options.heartbeatMs,
        pollMs: this.options.pollMs ?? 1000,
      });
    });
  }
}

function send(child: ChildProcess, message: WorkerMessage): void {
  if (child.connected) child.send(message, () => undefined);
}
