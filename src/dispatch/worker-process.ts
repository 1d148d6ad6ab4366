// Entry point of one local pool worker (a child process, so it can crash or be SIGKILLed without taking the server
// down, and a stuck onnxruntime call cannot block the API). It receives its settings over IPC, then claims jobs
// until told to stop. Jobs survive its death: the lease expires and another worker resumes from the checkpoint.
import "reflect-metadata";
import type { AppConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { JobQueue, JobWorker } from "../services/jobs.js";
import type { PgConfig } from "../store/pg-config.js";
import { Store } from "../store/store.js";
import { createJobHandlers } from "./handlers.js";

export interface WorkerInit {
  type: "init";
  workerId: string;
  database: PgConfig;
  config: AppConfig;
  leaseMs: number;
  heartbeatMs?: number;
  pollMs: number;
}

export type WorkerMessage = WorkerInit | { type: "wake" } | { type: "stop" };

/** What a worker tells the pool about its jobs (LocalWorkerPool.events). */
export type WorkerJobEvent =
  | { type: "checkpoint"; jobId: string; kind: string; iteration: number }
  | { type: "finished"; jobId: string; kind: string; result: string };

const tell = (event: WorkerJobEvent) => process.send?.(event, () => undefined);

let worker: JobWorker | null = null;
let shutdown: (() => Promise<void>) | null = null;

process.on("message", (message: WorkerMessage) => {
  if (message.type === "init" && !worker) {
    const log = createLogger(message.config.logLevel).child({ worker: message.workerId, pid: process.pid });
    const store = Store.connect(message.database, { poolSize: 3 });
    const handlers = createJobHandlers({ store, config: message.config, log });
    const queue = new JobQueue(store, handlers.registry, log, {
      owner: `${message.workerId}-${process.pid}`,
      leaseMs: message.leaseMs,
      heartbeatMs: message.heartbeatMs,
      onCheckpoint: (e) => tell({ type: "checkpoint", ...e }),
    });
    worker = new JobWorker(queue, {
      pollMs: message.pollMs,
      onRan: ({ job, result }) => tell({ type: "finished", jobId: job.id, kind: job.kind, result }),
    });
    worker.start();
    shutdown = async () => {
      await worker!.stop();
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
