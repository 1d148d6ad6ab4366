import type { DbOrTx } from "./db.js";
import { VisibilityStore, type Viewer } from "./visibility.js";
import { Prisma } from "./db.js";
import type { JobKind, JobStatus } from "../generated/prisma/enums.js";

// Re-exported so the job queue's callers need not import Prisma's generated code (only src/store does).
export type { JobKind, JobStatus };

export interface JobRecord {
  id: string;
  kind: JobKind;
  groupId: string;
  batchId: string | null;
  modelId: string | null;
  stimulusId: string | null;
  stage: string | null;
  payload: Record<string, unknown>;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  heartbeatAt: Date | null;
  iteration: number;
  totalIterations: number;
  loss: number | null;
  /** When the worker last wrote iteration/loss (its throttled heartbeat); null before the first report. */
  progressAt: Date | null;
  /** Steps per second the worker measured over its current attempt; null until it has two reports. */
  stepsPerSecond: number | null;
  hasCheckpoint: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The job whose result this one needs: not claimable before that job SUCCEEDED. */
  dependsOnId: string | null;
}

export interface NewJob {
  kind: JobKind;
  groupId: string;
  batchId?: string | null;
  modelId?: string | null;
  stimulusId?: string | null;
  stage?: string | null;
  payload?: Record<string, unknown>;
  maxAttempts?: number;
  totalIterations?: number;
  /** See JobRecord.dependsOnId. */
  dependsOnId?: string | null;
}

export interface JobProgress {
  iteration: number;
  totalIterations: number;
  loss: number | null;
  /** The worker's measured rate, when it has one (heartbeats carry it; checkpoints and results may not). */
  stepsPerSecond?: number | null;
}

/** One (status, stage) group of a batch's jobs with its step counts and times: what its progress and ETA come from. */
export interface BatchProgressRow {
  status: JobStatus;
  stage: string;
  jobs: number;
  /** Steps of the reported iteration, capped at each job's total. */
  iterations: number;
  totalIterations: number;
  /** Mean of the jobs' latest reported loss, over the jobs that reported one. */
  meanLoss: number | null;
  /** How many of the group's jobs have reported a loss (the weight of meanLoss). */
  lossJobs: number;
  firstStartedAt: Date | null;
  /** The latest time a step count of this group was measured: a progress report or a job's end. */
  lastObservedAt: Date | null;
}

export interface BatchRecord {
  id: string;
  groupId: string;
  modelId: string;
  config: Record<string, unknown>;
  seed: number;
  idempotencyKey: string | null;
  /** metrics/config-hash.ts: what results are keyed by */
  configHash: string;
  cancelledAt: Date | null;
  /** hidden from lists when set (archiveSynthesisBatch, issue 13) */
  archivedAt?: Date | null;
  createdAt: Date;
}

export type JobCounts = Record<"queued" | "running" | "succeeded" | "failed" | "cancelled", number>;

// Every column except the checkpoint bytes (which can be megabytes): listing jobs must stay cheap.
const COLUMNS = `"id","kind","groupId","batchId","modelId","stimulusId","stage","payload","status","attempts","maxAttempts",
  "leaseOwner","leaseExpiresAt","heartbeatAt","iteration","totalIterations","loss","progressAt","stepsPerSecond","checkpoint" IS NOT NULL AS "hasCheckpoint",
  "errorCode","errorMessage","createdAt","startedAt","finishedAt","dependsOnId"`;

const select = {
  id: true, kind: true, groupId: true, batchId: true, modelId: true, stimulusId: true, stage: true, payload: true,
  status: true, attempts: true, maxAttempts: true, leaseOwner: true, leaseExpiresAt: true, heartbeatAt: true,
  iteration: true, totalIterations: true, loss: true, progressAt: true, stepsPerSecond: true, errorCode: true, errorMessage: true, createdAt: true,
  startedAt: true, finishedAt: true, dependsOnId: true,
} as const;

type RawJob = Omit<JobRecord, "payload"> & { payload: unknown };

function toRecord(r: RawJob): JobRecord {
  return { ...r, payload: (r.payload ?? {}) as Record<string, unknown>, hasCheckpoint: Boolean(r.hasCheckpoint) };
}

/**
 * The generic job queue in PostgreSQL. Workers claim with `FOR UPDATE SKIP LOCKED` and hold a lease that heartbeats
 * extend; a job whose lease expires (its worker died) is claimable again and resumes from its checkpoint. Every
 * write by a worker is conditioned on it still owning the lease, so a worker that lost its job cannot overwrite it.
 * A job with `dependsOnId` is claimable only once that job has ended, so no job ever waits for another in a worker.
 *
 * Lease times: the methods that set or compare a lease take `now` (the caller's clock, so tests can move time
 * instead of sleeping); without it they use the database's clock for comparisons and this process's for new leases.
 */
export class JobStore {
  constructor(private readonly db: DbOrTx) {}

  async enqueue(jobs: NewJob[]): Promise<JobRecord[]> {
    const rows = await this.db.job.createManyAndReturn({
      data: jobs.map((j) => ({
        kind: j.kind,
        groupId: j.groupId,
        batchId: j.batchId ?? null,
        modelId: j.modelId ?? null,
        stimulusId: j.stimulusId ?? null,
        stage: j.stage ?? null,
        payload: (j.payload ?? {}) as Prisma.InputJsonValue,
        maxAttempts: j.maxAttempts ?? 3,
        totalIterations: j.totalIterations ?? 0,
        dependsOnId: j.dependsOnId ?? null,
      })),
      select: { ...select, checkpoint: false },
    });
    return rows.map((r) => toRecord({ ...r, hasCheckpoint: false } as RawJob));
  }

  /**
   * Claims the oldest runnable job of the given kinds (or the one with `jobId`): QUEUED, or RUNNING with an expired
   * lease, and whose dependency (if any) has ended. Increments attempts. Returns null when there is nothing to do.
   * A dependency that ended without succeeding still lets the job be claimed: the claimer fails it with that reason
   * (JobQueue), rather than leaving it queued forever.
   */
  async claim(options: { owner: string; leaseMs: number; kinds: JobKind[]; jobId?: string; now?: Date }): Promise<JobRecord | null> {
    const rows = await this.db.$queryRawUnsafe<RawJob[]>(
      `WITH t AS (SELECT COALESCE($5::timestamptz, now()) AS now)
       UPDATE "Job" SET "status" = 'RUNNING', "leaseOwner" = $1,
              "leaseExpiresAt" = t.now + ($2::int * interval '1 millisecond'), "heartbeatAt" = t.now,
              "attempts" = "attempts" + 1, "startedAt" = COALESCE("startedAt", t.now)
         FROM t
        WHERE "id" = (
          SELECT c."id" FROM "Job" c, t
           WHERE c."kind"::text = ANY($3::text[])
             AND (c."status" = 'QUEUED' OR (c."status" = 'RUNNING' AND c."leaseExpiresAt" < t.now))
             AND c."attempts" < c."maxAttempts"
             AND ($4::uuid IS NULL OR c."id" = $4::uuid)
             AND (c."dependsOnId" IS NULL OR EXISTS (
                   SELECT 1 FROM "Job" d WHERE d."id" = c."dependsOnId" AND d."status" IN ('SUCCEEDED', 'FAILED', 'CANCELLED')))
           -- Null distributions first: they unblock the synthesis jobs that depend on them. Recognition last: each
           -- recognizer's queued job absorbs its whole backlog, so running it after the syntheses classifies many
           -- metamers in one batched pass instead of one small job per finished metamer.
           ORDER BY CASE c."kind" WHEN 'NULL_DISTRIBUTION' THEN 0 WHEN 'SYNTHESIS' THEN 1 ELSE 2 END, c."createdAt", c."id"
           LIMIT 1
           FOR UPDATE OF c SKIP LOCKED)
        RETURNING ${COLUMNS}`,
      options.owner,
      Math.round(options.leaseMs),
      options.kinds,
      options.jobId ?? null,
      options.now ?? null,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Jobs whose worker died on their last allowed attempt would otherwise stay RUNNING forever: mark them FAILED.
   * Returns the ids it failed.
   */
  async failExhausted(now?: Date): Promise<string[]> {
    const rows = await this.db.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE "Job" SET "status" = 'FAILED', "finishedAt" = COALESCE($1::timestamptz, now()), "leaseOwner" = NULL, "leaseExpiresAt" = NULL,
              "errorCode" = COALESCE("errorCode", 'WORKER_LOST'),
              "errorMessage" = COALESCE("errorMessage", 'the worker stopped responding on the last allowed attempt')
        WHERE "status" = 'RUNNING' AND "leaseExpiresAt" < COALESCE($1::timestamptz, now()) AND "attempts" >= "maxAttempts"
        RETURNING "id"`,
      now ?? null,
    );
    return rows.map((r) => r.id);
  }

  /**
   * Ends the leases `owner` holds (its process is known to be dead: the local pool saw it exit), so its RUNNING jobs
   * are claimable at once instead of after their lease. Returns the ids of those jobs.
   */
  async expireLeasesOf(owner: string, now?: Date): Promise<string[]> {
    const rows = await this.db.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE "Job" SET "leaseExpiresAt" = COALESCE($2::timestamptz, now()) - interval '1 millisecond'
        WHERE "leaseOwner" = $1 AND "status" = 'RUNNING'
        RETURNING "id"`,
      owner,
      now ?? null,
    );
    return rows.map((r) => r.id);
  }

  /** Ids of the QUEUED jobs that depend on `id` (claimable now that it has ended): a Lambda worker dispatches them. */
  async queuedDependentsOf(id: string): Promise<string[]> {
    const rows = await this.db.job.findMany({
      where: { dependsOnId: id, status: "QUEUED" },
      select: { id: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    return rows.map((r) => r.id);
  }

  /** Extends the lease and records progress. Returns false when the worker no longer owns a RUNNING job. */
  async heartbeat(id: string, owner: string, leaseMs: number, progress?: JobProgress, checkpoint?: Uint8Array, now: Date = new Date()): Promise<boolean> {
    const result = await this.db.job.updateMany({
      where: { id, leaseOwner: owner, status: "RUNNING" },
      data: {
        heartbeatAt: now,
        leaseExpiresAt: new Date(now.getTime() + leaseMs),
        ...(progress ? progressColumns(progress, now) : {}),
        ...(checkpoint ? { checkpoint: checkpoint as Uint8Array<ArrayBuffer> } : {}),
      },
    });
    return result.count === 1;
  }

  async checkpoint(id: string): Promise<Uint8Array | null> {
    const row = await this.db.job.findUnique({ where: { id }, select: { checkpoint: true } });
    return row?.checkpoint ?? null;
  }

  /** Marks the job SUCCEEDED if `owner` still holds it; false otherwise (use inside the transaction writing its result). */
  async succeed(id: string, owner: string, progress?: JobProgress): Promise<boolean> {
    const now = new Date();
    const result = await this.db.job.updateMany({
      where: { id, leaseOwner: owner, status: "RUNNING" },
      data: {
        status: "SUCCEEDED", finishedAt: now, leaseOwner: null, leaseExpiresAt: null,
        ...(progress ? progressColumns(progress, now) : {}),
      },
    });
    return result.count === 1;
  }

  /**
   * Records a failure. A retryable failure with attempts left goes back to QUEUED (its checkpoint is kept, so the
   * next attempt resumes); otherwise the job is FAILED with its error. The checkpoint is never deleted.
   */
  async fail(id: string, owner: string, error: { code: string; message: string; retryable: boolean }): Promise<"QUEUED" | "FAILED" | null> {
    const rows = await this.db.$queryRawUnsafe<{ status: JobStatus }[]>(
      `UPDATE "Job" SET
          "status" = CASE WHEN $3::boolean AND "attempts" < "maxAttempts" THEN 'QUEUED'::"JobStatus" ELSE 'FAILED'::"JobStatus" END,
          "finishedAt" = CASE WHEN $3::boolean AND "attempts" < "maxAttempts" THEN NULL ELSE now() END,
          "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "errorCode" = $4, "errorMessage" = $5
        WHERE "id" = $1::uuid AND "leaseOwner" = $2 AND "status" = 'RUNNING'
        RETURNING "status"`,
      id, owner, error.retryable, error.code, error.message,
    );
    return (rows[0]?.status as "QUEUED" | "FAILED" | undefined) ?? null;
  }

  /**
   * Gives the job back to the queue without counting the attempt (a Lambda invocation near its time limit hands
   * over to the next one). Returns false when the worker no longer owns it.
   */
  async release(id: string, owner: string): Promise<boolean> {
    const result = await this.db.$executeRawUnsafe(
      `UPDATE "Job" SET "status" = 'QUEUED', "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "attempts" = "attempts" - 1
        WHERE "id" = $1::uuid AND "leaseOwner" = $2 AND "status" = 'RUNNING'`,
      id, owner,
    );
    return result === 1;
  }

  async find(id: string): Promise<JobRecord | null> {
    const rows = await this.db.$queryRawUnsafe<RawJob[]>(`SELECT ${COLUMNS} FROM "Job" WHERE "id" = $1::uuid`, id);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async status(id: string): Promise<JobStatus | null> {
    const row = await this.db.job.findUnique({ where: { id }, select: { status: true } });
    return row?.status ?? null;
  }

  async listByBatch(batchId: string, opts: { status?: JobStatus; first?: number; offset?: number } = {}): Promise<JobRecord[]> {
    const rows = await this.db.$queryRawUnsafe<RawJob[]>(
      `SELECT ${COLUMNS} FROM "Job" WHERE "batchId" = $1::uuid AND ($2::text IS NULL OR "status"::text = $2)
        ORDER BY "createdAt", "id" LIMIT $3 OFFSET $4`,
      batchId, opts.status ?? null, opts.first ?? 1000, opts.offset ?? 0,
    );
    return rows.map(toRecord);
  }

  /**
   * The batch's jobs grouped by (status, stage) with their steps, latest loss and times, in one aggregate query (a
   * batch can have 10,000 jobs: no rows are sent). services/progress.ts turns it into progress and an ETA.
   */
  async progressByBatch(batchId: string): Promise<BatchProgressRow[]> {
    const rows = await this.db.$queryRawUnsafe<BatchProgressRow[]>(
      `SELECT "status", COALESCE("stage", '') AS "stage", count(*)::int AS "jobs",
              COALESCE(sum(LEAST("iteration", "totalIterations")), 0)::float8 AS "iterations",
              COALESCE(sum("totalIterations"), 0)::float8 AS "totalIterations",
              avg("loss") AS "meanLoss", count("loss")::int AS "lossJobs", min("startedAt") AS "firstStartedAt",
              max(GREATEST("progressAt", "finishedAt")) AS "lastObservedAt"
         FROM "Job" WHERE "batchId" = $1::uuid
        GROUP BY "status", COALESCE("stage", '')
        ORDER BY 2, 1`,
      batchId,
    );
    return rows.map((r) => ({ ...r, jobs: Number(r.jobs), lossJobs: Number(r.lossJobs), iterations: Number(r.iterations), totalIterations: Number(r.totalIterations) }));
  }

  async countsByBatch(batchId: string): Promise<JobCounts> {
    const groups = await this.db.job.groupBy({ by: ["status"], where: { batchId }, _count: { _all: true } });
    const counts: JobCounts = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const g of groups) counts[g.status.toLowerCase() as keyof JobCounts] = g._count._all;
    return counts;
  }

  async countByStatus(kinds?: JobKind[]): Promise<Record<JobStatus, number>> {
    const groups = await this.db.job.groupBy({ by: ["status"], where: kinds ? { kind: { in: kinds } } : {}, _count: { _all: true } });
    const counts = { QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 } as Record<JobStatus, number>;
    for (const g of groups) counts[g.status] = g._count._all;
    return counts;
  }

  /**
   * Ids of jobs queued at or after `since` that nobody holds. A worker that cannot rely on polling (a Lambda
   * invocation) hands these follow-up jobs (recognition of a new metamer, say) to the dispatcher.
   */
  async queuedSince(since: Date): Promise<string[]> {
    const rows = await this.db.job.findMany({
      where: { status: "QUEUED", leaseOwner: null, createdAt: { gte: since } },
      select: { id: true },
      orderBy: { createdAt: "asc" },
    });
    return rows.map((r) => r.id);
  }

  /**
   * Locks and returns the id of a QUEUED, unclaimed RECOGNITION job of this recognizer, if one exists that no other
   * transaction holds. Held until the caller's transaction ends, so no worker can claim it (claims skip locked
   * rows) before what the caller writes is committed and visible to that job's backlog query.
   */
  async lockQueuedRecognition(recognizerId: string, metamerGroupId: string): Promise<string | null> {
    // Only for the recognizer's own group: a job's backlog covers its recognizer's group, not groups it is shared with.
    const rows = await this.db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT j."id" FROM "Job" j JOIN "Model" r ON r."id" = j."modelId" AND r."groupId" = $2::uuid
        WHERE j."kind" = 'RECOGNITION' AND j."modelId" = $1::uuid AND j."status" = 'QUEUED'
          AND j."leaseOwner" IS NULL LIMIT 1 FOR UPDATE OF j SKIP LOCKED`,
      recognizerId,
      metamerGroupId,
    );
    return rows[0]?.id ?? null;
  }

  /** NULL_DISTRIBUTION jobs of (model, set) still QUEUED or RUNNING. */
  async pendingNullJobs(modelId: string, setId: string): Promise<JobRecord[]> {
    const rows = await this.db.$queryRawUnsafe<RawJob[]>(
      `SELECT ${COLUMNS} FROM "Job" WHERE "kind" = 'NULL_DISTRIBUTION' AND "modelId" = $1::uuid
          AND "payload"->>'setId' = $2 AND "status" IN ('QUEUED', 'RUNNING')`,
      modelId, setId,
    );
    return rows.map(toRecord);
  }

  // --- synthesis batches ---

  async createBatch(input: Omit<BatchRecord, "id" | "cancelledAt" | "createdAt" | "configHash"> & { configHash?: string }): Promise<BatchRecord> {
    const row = await this.db.synthesisBatch.create({
      data: { ...input, config: input.config as Prisma.InputJsonValue },
    });
    return { ...row, config: row.config as Record<string, unknown> };
  }

  async findBatch(groupId: string, id: string): Promise<BatchRecord | null> {
    const row = await this.db.synthesisBatch.findFirst({ where: { id, groupId } });
    return row ? { ...row, config: row.config as Record<string, unknown> } : null;
  }

  /** A batch the viewer may read (own or shared: src/store/visibility.ts), or null. */
  async findVisibleBatch(viewer: Viewer, id: string): Promise<BatchRecord | null> {
    if (!(await new VisibilityStore(this.db).isVisible(viewer, "SYNTHESIS_BATCH", id))) return null;
    const row = await this.db.synthesisBatch.findUnique({ where: { id } });
    return row ? { ...row, config: row.config as Record<string, unknown> } : null;
  }

  async findBatchByIdempotencyKey(groupId: string, idempotencyKey: string): Promise<BatchRecord | null> {
    const row = await this.db.synthesisBatch.findUnique({ where: { groupId_idempotencyKey: { groupId, idempotencyKey } } });
    return row ? { ...row, config: row.config as Record<string, unknown> } : null;
  }

  /** Cancels the batch's QUEUED and RUNNING jobs; running workers notice at their next heartbeat. Returns how many. */
  async cancelBatch(batchId: string): Promise<number> {
    await this.db.synthesisBatch.updateMany({ where: { id: batchId, cancelledAt: null }, data: { cancelledAt: new Date() } });
    const result = await this.db.job.updateMany({
      where: { batchId, status: { in: ["QUEUED", "RUNNING"] } },
      data: { status: "CANCELLED", finishedAt: new Date(), leaseOwner: null, leaseExpiresAt: null, errorCode: "CANCELLED", errorMessage: "the batch was cancelled" },
    });
    return result.count;
  }

  /**
   * Re-queues the batch's FAILED and CANCELLED jobs with fresh attempts (their checkpoints are kept, so they resume),
   * and the FAILED/CANCELLED jobs they depend on (a failed null distribution would fail them again), and clears the
   * batch's cancellation. Returns the re-queued ids, dependencies first, for the dispatcher.
   */
  async requeueBatch(batchId: string): Promise<string[]> {
    const reset = { status: "QUEUED" as const, attempts: 0, finishedAt: null, startedAt: null, leaseOwner: null, leaseExpiresAt: null, errorCode: null, errorMessage: null };
    const jobs = await this.db.job.findMany({
      where: { batchId, status: { in: ["FAILED", "CANCELLED"] } },
      select: { id: true, dependsOnId: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    const dependencyIds = [...new Set(jobs.map((j) => j.dependsOnId).filter((id): id is string => id !== null))];
    const dependencies = await this.db.job.findMany({
      where: { id: { in: dependencyIds }, status: { in: ["FAILED", "CANCELLED"] } },
      select: { id: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    const ids = dependencies.map((d) => d.id).concat(jobs.map((j) => j.id));
    if (ids.length) await this.db.job.updateMany({ where: { id: { in: ids }, status: { in: ["FAILED", "CANCELLED"] } }, data: reset });
    await this.db.synthesisBatch.updateMany({ where: { id: batchId, cancelledAt: { not: null } }, data: { cancelledAt: null } });
    return ids;
  }
}

/** The progress columns of one report; `progressAt` says when its step count was measured. */
function progressColumns(progress: JobProgress, now: Date) {
  return {
    iteration: progress.iteration,
    totalIterations: progress.totalIterations,
    loss: finiteOrNull(progress.loss),
    progressAt: now,
    ...(progress.stepsPerSecond !== undefined ? { stepsPerSecond: finiteOrNull(progress.stepsPerSecond) } : {}),
  };
}

function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}
