import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { toPublicError } from "../../errors.js";
import type { JobKind, JobProgress, JobRecord } from "../../store/jobs.js";
import type { Store } from "../../store/store.js";

/** Thrown into a handler's calls once its worker no longer owns the job (cancelled, or the lease expired and another took it). */
export class JobLostError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} is no longer held by this worker (cancelled or its lease expired)`);
    this.name = "JobLostError";
  }
}

/** What a handler gets for one claimed job. */
export interface JobContext {
  readonly job: JobRecord;
  readonly owner: string;
  readonly store: Store;
  readonly log: Logger;
  /** Epoch ms after which the handler should checkpoint and return "yielded" (Lambda); undefined = no limit. */
  readonly deadline?: number;
  /** The last saved checkpoint, or null on a first attempt. */
  loadCheckpoint(): Promise<Uint8Array | null>;
  /** Persists progress (and a checkpoint), extending the lease. Throws JobLostError when the job was taken away. */
  progress(progress: JobProgress, checkpoint?: Uint8Array): Promise<void>;
  /**
   * Reports progress without waiting and without a write per call: the lease keeps the latest report and writes it
   * with its next renewal, at most once per `progressMs` (and at once with `flush`, e.g. at a round's end). The
   * steps-per-second rate of this attempt is measured here and written with it.
   */
  report(progress: JobProgress, options?: { flush?: boolean }): void;
  /** True once a heartbeat found the job cancelled or taken; handlers should stop at the next step. */
  stopRequested(): boolean;
  /**
   * Marks the job SUCCEEDED and writes its results in one transaction; if the lease was lost meanwhile nothing is
   * written (JobLostError), which is what keeps results from being duplicated.
   */
  complete(write: (tx: Store) => Promise<void>, progress?: JobProgress): Promise<void>;
}

/** "completed": results written via ctx.complete. "yielded": checkpointed, hand the job to the next invocation. */
export type JobOutcome = "completed" | "yielded";

export interface JobHandler {
  run(ctx: JobContext): Promise<JobOutcome>;
}

/** Which handler runs each kind; a worker fills it in its composition root (src/worker.ts). */
export class JobHandlerRegistry {
  private readonly handlers = new Map<JobKind, JobHandler>();

  register(kind: JobKind, handler: JobHandler): this {
    this.handlers.set(kind, handler);
    return this;
  }

  get(kind: JobKind): JobHandler | undefined {
    return this.handlers.get(kind);
  }

  kinds(): JobKind[] {
    return [...this.handlers.keys()];
  }
}

export interface JobQueueOptions {
  /** How long a claim lasts without a heartbeat; a dead worker's job is picked up after this. */
  leaseMs?: number;
  /** How often the lease is extended while a handler runs. */
  heartbeatMs?: number;
  /** Least time between two progress writes of a job from ctx.report (default 2 s); each also renews the lease. */
  progressMs?: number;
  /** Unique per worker (process/thread/invocation). */
  owner?: string;
  /**
   * The time leases are set and compared against. Unset: the database's clock for claims and sweeps, this process's
   * for heartbeats. Tests pass a clock they move, so a lease expires without waiting for it.
   */
  clock?: () => Date;
  /** Told when a handler saved a checkpoint (the local pool forwards it to its owner, e.g. a fault test). */
  onCheckpoint?: (event: { jobId: string; kind: JobKind; iteration: number }) => void;
}

/** What `runOne` did with the job it claimed. */
export interface RunResult {
  job: JobRecord;
  /** succeeded, yielded, requeued, failed, cancelled or lost */
  result: string;
}

/** A claimed job's lease, kept alive by a heartbeat while its handler runs. */
interface Lease {
  /** Extends the lease now; false when the job is no longer held by this worker. */
  beat(progress?: JobProgress, checkpoint?: Uint8Array): Promise<boolean>;
  /** Keeps the latest progress for the next renewal, which it brings forward once `progressMs` has passed. */
  report(progress: JobProgress, flush: boolean): void;
  lost(): boolean;
  /** Stops the heartbeat and waits for a beat in flight. */
  stop(): Promise<void>;
}

/** The job code of a job whose dependency ended without succeeding (it fails at its claim, without running). */
export const DEPENDENCY_FAILED = "DEPENDENCY_FAILED";

/** Errors that will not go away by retrying: fail the job at once. */
const PERMANENT_CODES = new Set(["NON_FINITE_LOSS", "BAD_USER_INPUT", "NOT_FOUND", "UNSUPPORTED_MODEL", "INVALID_STIMULUS", "INVALID_ONNX"]);

/**
 * The generic Postgres job queue: claims with leases, heartbeats, checkpoints, retries up to maxAttempts, fails,
 * and logs each transition as a JSON line. Handlers do the work; this class owns the bookkeeping.
 */
export class JobQueue {
  readonly owner: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly progressMs: number;
  private lastSweep = 0;
  private readonly clock?: () => Date;
  private readonly onCheckpoint?: JobQueueOptions["onCheckpoint"];

  constructor(
    private readonly store: Store,
    private readonly registry: JobHandlerRegistry,
    private readonly log: Logger,
    options: JobQueueOptions = {},
  ) {
    this.owner = options.owner ?? `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(this.leaseMs / 3));
    this.progressMs = options.progressMs ?? 2000;
    this.clock = options.clock;
    this.onCheckpoint = options.onCheckpoint;
  }

  /**
   * Claims and runs one job (of `jobId` if given). Returns what happened, or null when there was nothing to claim.
   */
  async runOne(options: { jobId?: string; deadline?: number } = {}): Promise<RunResult | null> {
    const now = this.clock?.();
    await this.sweepExhausted(now);
    const job = await this.store.jobs.claim({ owner: this.owner, leaseMs: this.leaseMs, kinds: this.registry.kinds(), jobId: options.jobId, now });
    if (!job) return null;
    const log = this.log.child({ jobId: job.id, kind: job.kind, owner: this.owner });
    log.info({ event: "job.claimed", attempt: job.attempts, maxAttempts: job.maxAttempts, resume: job.hasCheckpoint }, "job claimed");
    const unmet = await this.unmetDependency(job);
    if (unmet) {
      // Its input will never exist: fail now with the reason (a job never runs on a missing input, so a crash or a
      // failure upstream can only delay or fail a result, never change it).
      const status = await this.store.jobs.fail(job.id, this.owner, { code: DEPENDENCY_FAILED, message: unmet, retryable: false });
      log.warn({ event: "job.failed", errorCode: DEPENDENCY_FAILED, errorMessage: unmet }, "job failed: its dependency did not succeed");
      return { job, result: status === "FAILED" ? "failed" : "lost" };
    }
    const lease = this.holdLease(job, log);
    try {
      const outcome = await this.registry.get(job.kind)!.run(this.contextFor(job, log, lease, options.deadline));
      return await this.settle(job, log, outcome);
    } catch (error) {
      return await this.settleFailure(job, log, error, lease.lost());
    } finally {
      await lease.stop();
    }
  }

  /** Fails the jobs whose last attempt's worker died. Housekeeping (a table scan): once per lease period is enough. */
  private async sweepExhausted(now: Date | undefined): Promise<void> {
    const time = (now ?? new Date()).getTime();
    if (time - this.lastSweep <= this.leaseMs) return;
    this.lastSweep = time;
    for (const id of await this.store.jobs.failExhausted(now)) {
      this.log.warn({ event: "job.failed", jobId: id, errorCode: "WORKER_LOST" }, "job failed: worker lost on last attempt");
    }
  }

  /**
   * Keeps the lease of a claimed job alive with a heartbeat every `heartbeatMs` until `stop()`. `beat` extends it
   * now (with progress and a checkpoint); `lost()` turns true once a beat found the job cancelled or taken.
   */
  private holdLease(job: JobRecord, log: Logger): Lease {
    let lost = false;
    let beating = Promise.resolve();
    // Progress reported but not written yet, when the last progress write happened, and whether a write is queued.
    let unwritten: JobProgress | undefined;
    let lastWrite = 0;
    let writeQueued = false;
    // The attempt's rate: steps since its first report over the time since then (the first step's session warm-up
    // and a resumed job's earlier steps are left out).
    let first: { iteration: number; at: number } | undefined;
    let stepsPerSecond: number | null = null;
    const beat = async (progress?: JobProgress, checkpoint?: Uint8Array) => {
      // A renewal carries the latest report; an explicit progress (a checkpoint's) is at least as recent.
      const written = progress ? { stepsPerSecond, ...progress } : unwritten;
      unwritten = undefined;
      if (written) lastWrite = Date.now();
      const held = await this.store.jobs.heartbeat(job.id, this.owner, this.leaseMs, written, checkpoint, this.clock?.());
      if (!held) lost = true;
      return held;
    };
    const queueBeat = () => {
      beating = beating.then(() => {
        writeQueued = false;
        return beat().then(() => undefined, (e) => void log.warn({ err: e }, "heartbeat failed"));
      });
    };
    const timer = setInterval(queueBeat, this.heartbeatMs);
    timer.unref();
    return {
      beat,
      report: (progress, flush) => {
        const now = Date.now();
        if (!first || progress.iteration < first.iteration) first = { iteration: progress.iteration, at: now };
        else if (progress.iteration > first.iteration && now > first.at) stepsPerSecond = ((progress.iteration - first.iteration) * 1000) / (now - first.at);
        unwritten = { ...progress, stepsPerSecond };
        if (!writeQueued && !lost && (flush || now - lastWrite >= this.progressMs)) {
          writeQueued = true;
          queueBeat();
        }
      },
      lost: () => lost,
      stop: async () => {
        clearInterval(timer);
        await beating;
      },
    };
  }

  /** What the handler of `job` sees: its row, its checkpoint, and progress/completion bound to this worker's lease. */
  private contextFor(job: JobRecord, log: Logger, lease: Lease, deadline: number | undefined): JobContext {
    return {
      job,
      owner: this.owner,
      store: this.store,
      log,
      deadline,
      loadCheckpoint: () => this.store.jobs.checkpoint(job.id),
      progress: async (progress, checkpoint) => {
        if (!(await lease.beat(progress, checkpoint))) throw new JobLostError(job.id);
        if (checkpoint) {
          log.debug({ event: "job.checkpoint", iteration: progress.iteration }, "checkpoint saved");
          this.onCheckpoint?.({ jobId: job.id, kind: job.kind, iteration: progress.iteration });
        }
      },
      report: (progress, options) => lease.report(progress, options?.flush ?? false),
      stopRequested: () => lease.lost(),
      complete: async (write, progress) => {
        await this.store.transaction(async (tx) => {
          if (!(await tx.jobs.succeed(job.id, this.owner, progress))) throw new JobLostError(job.id);
          await write(tx);
        });
      },
    };
  }

  /** A handler returned: it completed the job (ctx.complete), or checkpointed and hands it to the next invocation. */
  private async settle(job: JobRecord, log: Logger, outcome: JobOutcome): Promise<RunResult> {
    if (outcome === "completed") {
      log.info({ event: "job.succeeded" }, "job succeeded");
      return { job, result: "succeeded" };
    }
    await this.store.jobs.release(job.id, this.owner);
    log.info({ event: "job.yielded" }, "job checkpointed and released for continuation");
    return { job, result: "yielded" };
  }

  /** A handler threw: the job was taken away (cancelled, lease lost), or it failed and is retried or FAILED. */
  private async settleFailure(job: JobRecord, log: Logger, error: unknown, leaseLost: boolean): Promise<RunResult> {
    if (error instanceof JobLostError || leaseLost) {
      const status = await this.store.jobs.status(job.id);
      log.info({ event: status === "CANCELLED" ? "job.cancelled" : "job.lost", status }, "job stopped: no longer held");
      return { job, result: status === "CANCELLED" ? "cancelled" : "lost" };
    }
    // The stored error is what clients read (SynthesisJob.error): an AppError's message is meant for them; anything
    // else is stored as INTERNAL with a reference id only, and its details go to the log under that id.
    const { code, message } = toPublicError(error, log, { event: "job.error" }, "unexpected error in job handler");
    const status = await this.store.jobs.fail(job.id, this.owner, { code, message, retryable: !PERMANENT_CODES.has(code) });
    if (status === null) {
      // The lease was lost while the handler failed: the job's current holder decides its fate.
      log.info({ event: "job.lost", errorCode: code, errorMessage: message }, "job failed after its lease was lost");
      return { job, result: "lost" };
    }
    const event = status === "QUEUED" ? "job.requeued" : "job.failed";
    log[status === "QUEUED" ? "warn" : "error"]({ event, errorCode: code, errorMessage: message }, event);
    return { job, result: status === "QUEUED" ? "requeued" : "failed" };
  }

  /** Why a claimed job cannot run (its dependency ended without succeeding), or null when it can. */
  private async unmetDependency(job: JobRecord): Promise<string | null> {
    if (!job.dependsOnId) return null;
    // The claim only hands out jobs whose dependency has ended, so this is SUCCEEDED, FAILED or CANCELLED.
    const dependency = await this.store.jobs.find(job.dependsOnId);
    if (!dependency || dependency.status === "SUCCEEDED") return null;
    const what = dependency.kind === "NULL_DISTRIBUTION" ? "null distribution job" : `${dependency.kind.toLowerCase()} job`;
    const how = dependency.status === "CANCELLED" ? "was cancelled" : "failed";
    const why = dependency.errorCode ? ` (${dependency.errorCode}: ${dependency.errorMessage ?? "no message"})` : "";
    return `the ${what} ${dependency.id} this job needs ${how}${why}, so this job cannot run; submit it again`;
  }
}

/** Runs a queue until stopped: claims jobs back to back and polls (or waits for wake()) when the queue is empty. */
export class JobWorker {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly options: { pollMs?: number; onRan?: (ran: RunResult) => void } = {},
  ) {}

  start(): void {
    this.loop ??= this.runLoop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async runLoop(): Promise<void> {
    while (!this.stopped) {
      let ran = null;
      try {
        ran = await this.queue.runOne();
      } catch {
        // A database hiccup: wait a poll interval and try again rather than killing the worker.
      }
      if (ran) this.options.onRan?.(ran);
      if (ran || this.stopped) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.options.pollMs ?? 1000);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }
}
