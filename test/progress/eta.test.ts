// The batch and job ETA estimators (src/services/progress.ts) on hand-made job groups: what they compute from the
// rows workers write, including when there is no rate yet.
import { describe, expect, it } from "vitest";
import { batchProgressView, jobProgressView } from "../../src/services/progress.js";
import type { BatchProgressRow } from "../../src/store/jobs.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const row = (r: Partial<BatchProgressRow> & Pick<BatchProgressRow, "status" | "jobs">): BatchProgressRow => ({
  stage: "relu1", iterations: 0, totalIterations: 100 * r.jobs, meanLoss: null, lossJobs: 0, firstStartedAt: null, lastObservedAt: null, ...r,
});

describe("batch progress", () => {
  it("has no ETA before any step was measured", () => {
    const p = batchProgressView([row({ status: "QUEUED", jobs: 4 })], at(5));
    expect(p).toMatchObject({ jobsTotal: 4, jobsDone: 0, jobsQueued: 4, stepsTotal: 400, stepsDone: 0, fraction: 0, stepsPerSecond: null, etaSeconds: null });
    // Started but not one step reported yet: still no rate.
    const started = batchProgressView([row({ status: "RUNNING", jobs: 1, firstStartedAt: at(0) }), row({ status: "QUEUED", jobs: 3 })], at(5));
    expect(started.etaSeconds).toBeNull();
  });

  it("estimates from the batch's throughput: steps done (ended jobs count whole) over the time since its first start", () => {
    const rows = [
      row({ status: "SUCCEEDED", jobs: 1, iterations: 60, firstStartedAt: at(0), lastObservedAt: at(8), meanLoss: 0.2, lossJobs: 1 }), // converged early: 100 done
      row({ status: "RUNNING", jobs: 1, iterations: 50, firstStartedAt: at(2), lastObservedAt: at(10), meanLoss: 0.4, lossJobs: 1 }),
      row({ status: "QUEUED", jobs: 2 }),
    ];
    const p = batchProgressView(rows, at(10));
    // 150 steps in 10 s = 15 steps/s; 250 left -> 16.67 s.
    expect(p.stepsDone).toBe(150);
    expect(p.stepsTotal).toBe(400);
    expect(p.stepsPerSecond).toBeCloseTo(15, 10);
    expect(p.etaSeconds).toBeCloseTo(250 / 15, 10);
    expect(p.byStage).toEqual([{ stage: "relu1", jobsTotal: 4, jobsDone: 1, stepsTotal: 400, stepsDone: 150, meanLoss: expect.closeTo(0.3, 10) }]);
    // Seen 4 s after the measurement, the ETA counts those seconds as spent.
    expect(batchProgressView(rows, at(14)).etaSeconds).toBeCloseTo(250 / 15 - 4, 10);
  });

  it("is 0 once every job ended, failed and cancelled ones included", () => {
    const p = batchProgressView([row({ status: "SUCCEEDED", jobs: 2, firstStartedAt: at(0), lastObservedAt: at(4) }), row({ status: "FAILED", jobs: 1 }), row({ status: "CANCELLED", jobs: 1 })], at(9));
    expect(p).toMatchObject({ jobsTotal: 4, jobsDone: 4, jobsFailed: 1, jobsCancelled: 1, fraction: 1, etaSeconds: 0 });
  });
});

describe("job progress", () => {
  const job = { status: "RUNNING" as const, iteration: 300, totalIterations: 1000, loss: 0.5, progressAt: at(10), stepsPerSecond: 100 };
  it("gives the steps left at the worker's measured rate", () => {
    expect(jobProgressView(job, at(10))).toMatchObject({ fraction: 0.3, etaSeconds: 7 });
    expect(jobProgressView(job, at(12)).etaSeconds).toBeCloseTo(5, 10);
  });
  it("has no ETA while queued or without a rate, and 0 once ended", () => {
    expect(jobProgressView({ ...job, status: "QUEUED" }, at(10)).etaSeconds).toBeNull();
    expect(jobProgressView({ ...job, stepsPerSecond: null }, at(10)).etaSeconds).toBeNull();
    expect(jobProgressView({ ...job, status: "SUCCEEDED", iteration: 640 }, at(10))).toMatchObject({ fraction: 1, etaSeconds: 0 });
  });
});
