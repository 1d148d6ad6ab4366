// Progress and ETA of synthesis jobs and batches (issue 13 item 5), from what workers write with their throttled
// heartbeats (iteration, total, loss, progressAt, stepsPerSecond: store/jobs.ts). Pure functions of those rows and the
// current time, so they are tested without a worker.
import type { BatchProgressRow, JobRecord } from "../store/jobs.js";

export interface JobProgressView {
  iteration: number;
  totalIterations: number;
  loss: number | null;
  /** iteration / totalIterations in [0, 1]; 1 once the job has ended (a converged job stops early). */
  fraction: number;
  /** The rate the worker measured over its current attempt. */
  stepsPerSecond: number | null;
  /** When the worker last reported; null before its first report. */
  reportedAt: Date | null;
  /** Seconds left: 0 for an ended job; null while queued or before the worker has a rate. */
  etaSeconds: number | null;
}

export interface StageProgressView {
  stage: string;
  jobsTotal: number;
  jobsDone: number;
  stepsTotal: number;
  stepsDone: number;
  /** Mean of the latest loss of the stage's jobs that reported one (running or finished). */
  meanLoss: number | null;
}

export interface BatchProgressView {
  jobsTotal: number;
  /** Ended jobs: succeeded, failed or cancelled. */
  jobsDone: number;
  jobsSucceeded: number;
  jobsFailed: number;
  jobsCancelled: number;
  jobsRunning: number;
  jobsQueued: number;
  /** Gradient steps of all the batch's jobs; an ended job counts all of its steps as done. */
  stepsTotal: number;
  stepsDone: number;
  /** stepsDone / stepsTotal (1 for an empty batch). */
  fraction: number;
  /** The batch's measured throughput (all its workers together), null before a rate exists. */
  stepsPerSecond: number | null;
  /** Seconds until every job has ended at the measured rate; 0 once all have; null until there is a rate. */
  etaSeconds: number | null;
  /** When the step counts were last measured (a progress report or a job's end). */
  observedAt: Date | null;
  byStage: StageProgressView[];
}

const ENDED = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** A job's progress and its ETA: the steps left at the rate its worker measured, less the time since that report. */
export function jobProgressView(job: Pick<JobRecord, "status" | "iteration" | "totalIterations" | "loss" | "progressAt" | "stepsPerSecond">, now: Date): JobProgressView {
  const ended = ENDED.has(job.status);
  const total = job.totalIterations;
  const done = Math.min(job.iteration, total);
  const fraction = ended || total === 0 ? 1 : done / total;
  let etaSeconds: number | null = null;
  if (ended) etaSeconds = 0;
  else if (job.status === "RUNNING" && job.stepsPerSecond && job.stepsPerSecond > 0 && job.progressAt) {
    etaSeconds = remainingSeconds(total - done, job.stepsPerSecond, job.progressAt, now);
  }
  return { iteration: job.iteration, totalIterations: total, loss: job.loss, fraction, stepsPerSecond: job.stepsPerSecond, reportedAt: job.progressAt, etaSeconds };
}

/**
 * A batch's progress from its (status, stage) groups. The ETA's estimator is the batch's measured throughput:
 * rate = stepsDone / (observedAt - firstStartedAt), i.e. the steps its finished and running jobs have done (an ended
 * job counting all of its steps) over the wall time since its first job started, up to the latest measurement. That
 * rate already includes how many workers run the batch in parallel, per-job set-up, and jobs that converge early;
 * ETA = (stepsTotal - stepsDone) / rate, less the time since the measurement (never below 0). It is null until some
 * steps are done over a positive time: no rate, no guess.
 */
export function batchProgressView(rows: BatchProgressRow[], now: Date): BatchProgressView {
  const count = (status: string) => rows.filter((r) => r.status === status).reduce((n, r) => n + r.jobs, 0);
  const stages = new Map<string, StageProgressView & { lossSum: number; lossJobs: number }>();
  let stepsTotal = 0;
  let stepsDone = 0;
  let firstStartedAt: Date | null = null;
  let observedAt: Date | null = null;
  for (const r of rows) {
    const ended = ENDED.has(r.status);
    const done = ended ? r.totalIterations : r.iterations;
    stepsTotal += r.totalIterations;
    stepsDone += done;
    if (r.firstStartedAt && (!firstStartedAt || r.firstStartedAt < firstStartedAt)) firstStartedAt = r.firstStartedAt;
    if (r.lastObservedAt && (!observedAt || r.lastObservedAt > observedAt)) observedAt = r.lastObservedAt;
    const s = stages.get(r.stage) ?? { stage: r.stage, jobsTotal: 0, jobsDone: 0, stepsTotal: 0, stepsDone: 0, meanLoss: null, lossSum: 0, lossJobs: 0 };
    s.jobsTotal += r.jobs;
    s.jobsDone += ended ? r.jobs : 0;
    s.stepsTotal += r.totalIterations;
    s.stepsDone += done;
    // A group's meanLoss is over its jobs that reported a loss: weighted by their number, the stage's mean is exact.
    if (r.meanLoss !== null && r.lossJobs > 0) {
      s.lossSum += r.meanLoss * r.lossJobs;
      s.lossJobs += r.lossJobs;
    }
    stages.set(r.stage, s);
  }
  const jobsTotal = rows.reduce((n, r) => n + r.jobs, 0);
  const [jobsSucceeded, jobsFailed, jobsCancelled] = [count("SUCCEEDED"), count("FAILED"), count("CANCELLED")];
  const jobsDone = jobsSucceeded + jobsFailed + jobsCancelled;
  const elapsed = firstStartedAt && observedAt ? (observedAt.getTime() - firstStartedAt.getTime()) / 1000 : 0;
  const stepsPerSecond = stepsDone > 0 && elapsed > 0 ? stepsDone / elapsed : null;
  let etaSeconds: number | null = null;
  if (jobsTotal > 0 && jobsDone === jobsTotal) etaSeconds = 0;
  else if (stepsPerSecond && observedAt) etaSeconds = remainingSeconds(stepsTotal - stepsDone, stepsPerSecond, observedAt, now);
  return {
    jobsTotal,
    jobsDone,
    jobsSucceeded,
    jobsFailed,
    jobsCancelled,
    jobsRunning: count("RUNNING"),
    jobsQueued: count("QUEUED"),
    stepsTotal,
    stepsDone,
    fraction: stepsTotal > 0 ? stepsDone / stepsTotal : jobsTotal > 0 && jobsDone < jobsTotal ? 0 : 1,
    stepsPerSecond,
    etaSeconds,
    observedAt,
    byStage: [...stages.values()].map(({ lossSum, lossJobs, ...s }) => ({ ...s, meanLoss: lossJobs > 0 ? lossSum / lossJobs : null })),
  };
}

/** Seconds for `steps` at `rate` counted from `measuredAt`, less what has passed since; at least 0. */
function remainingSeconds(steps: number, rate: number, measuredAt: Date, now: Date): number {
  const sinceMeasured = Math.max(0, (now.getTime() - measuredAt.getTime()) / 1000);
  return Math.max(0, steps / rate - sinceMeasured);
}
