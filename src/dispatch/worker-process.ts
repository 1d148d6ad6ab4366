// One local pool worker process: its side of the pool's IPC protocol. The process (a child, so it can crash or be
// SIGKILLed without taking the server down, and a stuck onnxruntime call cannot block the API) is src/worker.ts, forked
// by local-pool.ts; it receives its settings over IPC, then claims jobs until told to stop. Jobs survive its death:
// the lease expires (or the pool frees it) and another worker resumes from the checkpoint.
import type { AppConfig } from "../config.js";
import { createLogger, type Logger } from "../logger.js";
import { JobQueue, JobWorker, type JobHandlerRegistry } from "../services/jobs/queue.js";
import type { PgConfig } from "../store/pg-config.js";
import { Store } from "../store/store.js";

export interface WorkerInit {
  type: "init";
  workerId: string;
  database: PgConfig;
  config: AppConfig;
  leaseMs: number;
  heartbeatMs?: number;
  /** Least time between two progress writes of a running job (JobQueueOptions.progressMs). */
  progressMs?: number;
  pollMs: number;
}

export type WorkerMessage = WorkerInit | { type: "wake" } | { type: "stop" };

/** What a worker tells the pool about its jobs (LocalWorkerPool.events). */
export type WorkerJobEvent =
  | { type: "checkpoint"; jobId: string; kind: string; iteration: number }
  | { type: "finished"; jobId: string; kind: string; result: string };

/** The argument local-pool.ts forks src/worker.ts with: serve the pool protocol on this process's IPC channel. */
export const POOL_WORKER_ARG = "pool-worker";

/** What a worker process runs jobs with (built by its composition root, src/worker.ts). */
export interface WorkerHandlers {
  registry: JobHandlerRegistry;
  close(): Promise<void>;
}

export interface WorkerDeps {
  store: Store;
  config: AppConfig;
  log: Logger;
}

/** Serves the pool protocol on this process's IPC channel, running jobs with the handlers `createHandlers` builds. */
export function servePoolWorker(createHandlers: (deps: WorkerDeps) => WorkerHandlers): void {
  const tell = (event: WorkerJobEvent) => process.send?.(event, () => undefined);
  let worker: JobWorker | null = null;
  let shutdown: (() => Promise<void>) | null = null;

  process.on("message", (message: WorkerMessage) => {
    if (message.type === "init" && !worker) {
      const log = createLogger(message.config.logLevel).child({ worker: message.workerId, pid: process.pid });
      const store = Store.connect(message.database, { poolSize: 3, blobChunkBytes: message.config.blobChunkBytes, s3: message.config.s3 });
      const handlers = createHandlers({ store, config: message.config, log });
      const queue = new JobQueue(store, handlers.registry, log, {
        owner: `${message.workerId}-${process.pid}`,
        leaseMs: message.leaseMs,
        heartbeatMs: message.heartbeatMs,
        progressMs: message.progressMs,
        onCheckpoint: (e) => tell({ type: "checkpoint", ...e }),
      });
      const started = new JobWorker(queue, {
        pollMs: message.pollMs,
        onRan: ({ job, result }) => tell({ type: "finished", jobId: job.id, kind: job.kind, result }),
      });
      worker = started;
      started.start();
      shutdown = async () => {
        await started.stop();
        await handlers.close();
        await store.close();
      };
      process.send?.({ type: "ready" });
    } else if (message.type === "wake") {
      worker?.wake();
    } else if (message.type === "stop") {
      void (shutdown?.() ?? Promise.resolve()).finally(() => process.exit(0));
    }
  });

  // The server going away must not leave orphan workers behind.
  process.on("disconnect", () => process.exit(0));
}
