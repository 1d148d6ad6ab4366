import { fork, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AppConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { PgConfig } from "../store/pg-config.js";
import type { Store } from "../store/store.js";
import type { Dispatcher } from "../services/ports.js";
import { POOL_WORKER_ARG, type WorkerJobEvent, type WorkerMessage } from "./worker-process.js";

export interface LocalPoolOptions {
  size: number;
  database: PgConfig;
  config: AppConfig;
  log: Logger;
  leaseMs?: number;
  heartbeatMs?: number;
  /** Least time between two progress writes of a running job (default 2 s). */
  progressMs?: number;
  pollMs?: number;
  /** Replace a worker that died (default true). */
  respawn?: boolean;
  /**
   * The server's store. With it, the jobs of a worker that died are claimable as soon as the pool sees it exit,
   * instead of after their lease; without it they wait for the lease.
   */
  store?: Store;
}

/** What `LocalWorkerPool.events` emits as "job": a worker's job event, with the worker it came from. */
export type PoolJobEvent = WorkerJobEvent & { workerId: string; pid: number };

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");

/**
 * The embedded dispatcher: `size` worker processes (METAMERS_WORKERS, default one per core) claiming jobs from
 * PostgreSQL. A worker that dies is replaced; its job is resumed by whichever worker claims it next (at once when the
 * pool has the store, else after the lease).
 *
 * `events` emits "job" (PoolJobEvent: a checkpoint saved, a job finished) and "worker-lost" ({ workerId, pid,
 * jobIds }: a worker died and these jobs of it were freed): for operators' metrics and for tests that act on a
 * worker mid-job without polling.
 */
export class LocalWorkerPool implements Dispatcher {
  readonly kind = "local" as const;
  readonly events = new EventEmitter();
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
    // The worker's composition root (src/worker.ts) is the process; worker-process.ts is its side of this protocol.
    const entry = path.join(here, "..", ts ? "worker.ts" : "worker.js");
    const child = fork(entry, [POOL_WORKER_ARG], {
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
      void this.freeJobsOf(workerId, child.pid!);
      if (this.options.respawn !== false) void this.spawn().catch((e) => this.options.log.error({ err: e }, "worker respawn failed"));
    });
    return new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.on("message", (m: { type?: string }) => {
        if (m?.type === "ready") resolve();
        else if (m?.type === "checkpoint" || m?.type === "finished") {
          const event = { ...(m as WorkerJobEvent), workerId, pid: child.pid! } satisfies PoolJobEvent;
          // A job that ended may have unblocked jobs depending on it (a null distribution's synthesis jobs): wake the
          // idle workers now rather than at their next poll.
          if (event.type === "finished") void this.dispatch();
          this.events.emit("job", event);
        }
      });
      send(child, {
        type: "init",
        workerId,
        database: this.options.database,
        config: this.options.config,
        leaseMs: this.options.leaseMs ?? this.options.config.jobs.leaseMs,
        heartbeatMs: this.options.heartbeatMs,
        progressMs: this.options.progressMs,
        pollMs: this.options.pollMs ?? 1000,
      });
    });
  }

  /**
   * A dead process holds nothing: end its leases now (its owner name is `${workerId}-${pid}`, worker-process.ts) and
   * wake the others, so its job resumes from its checkpoint at once rather than after the lease (and, for a null
   * distribution job, the jobs depending on it are not held back for a lease period).
   */
  private async freeJobsOf(workerId: string, pid: number): Promise<void> {
    let jobIds: string[] = [];
    try {
      if (this.options.store) jobIds = await this.options.store.jobs.expireLeasesOf(`${workerId}-${pid}`);
      if (jobIds.length) this.options.log.info({ event: "pool.jobs_freed", workerId, pid, jobIds }, "freed the jobs of a dead worker");
      await this.dispatch();
    } catch (e) {
      // The lease still frees them; this only makes it sooner.
      this.options.log.warn({ err: e, workerId, pid }, "could not free a dead worker's jobs; they wait for their lease");
    }
    this.events.emit("worker-lost", { workerId, pid, jobIds } satisfies PoolWorkerLost);
  }
}

export interface PoolWorkerLost {
  workerId: string;
  pid: number;
  /** The RUNNING jobs it held, now claimable (empty without a store). */
  jobIds: string[];
}

function send(child: ChildProcess, message: WorkerMessage): void {
  if (child.connected) child.send(message, () => undefined);
}
