import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/engine/random.js";
import { AppError } from "../../src/errors.js";
import { runStatsTask } from "../../src/services/metrics/stats-tasks.js";
import { StatsPool } from "../../src/services/stats-pool.js";

// The statistics threads: same results as on the calling thread, a bounded queue, and a task
// past its time limit fails alone (its thread is replaced and the pool goes on).
describe("StatsPool", () => {
  let pool: StatsPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  const data = (subjects: number, a: number, b: number, seed = 1) => {
    const rng = new SeededRandom(seed);
    return Array.from({ length: subjects }, () => Array.from({ length: a }, () => Array.from({ length: b }, () => rng.next())));
  };

  it("gives exactly the results of the same task on the calling thread", async () => {
    pool = new StatsPool({ threads: 2, maxQueue: 8, timeoutMs: 60_000 });
    const y = data(12, 2, 4);
    const values = Float64Array.from(y.flat(2));
    const [perm, boot] = await Promise.all([
      pool.run("permutationRepeatedMeasures", { y, permutations: 2000, seed: 7 }),
      pool.run("bootstrapMean", { values, seed: 3, resamples: 500 }),
    ]);
    expect(perm).toEqual(runStatsTask("permutationRepeatedMeasures", { y, permutations: 2000, seed: 7 }));
    expect(boot).toEqual(runStatsTask("bootstrapMean", { values, seed: 3, resamples: 500 }));
    expect(pool.state.threads).toBe(2);
  });

  it("refuses with RATE_LIMITED once the queue is full, and runs what it accepted", async () => {
    pool = new StatsPool({ threads: 1, maxQueue: 2, timeoutMs: 60_000 });
    const y = data(30, 2, 6);
    const accepted = [1, 2, 3].map((seed) => pool!.run("permutationRepeatedMeasures", { y, permutations: 20_000, seed }));
    // The thread is still starting: all three wait, one of them as the thread's first task.
    expect(pool.state).toEqual({ threads: 1, running: 0, queued: 3 });
    const refused = await pool.run("permutationRepeatedMeasures", { y, permutations: 10, seed: 0 }).catch((e) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused.code).toBe("RATE_LIMITED");
    expect(refused.message).toBe("statistics: 3 queries are already waiting for the 1 statistics processes (at most 2 may wait); retry later");
    const results = await Promise.all(accepted);
    expect(results.map((r) => r.seed)).toEqual([1, 2, 3]);
  });

  it("serves owners in turn: one caller's many tasks delay another's by at most one, and each owner has a cap", async () => {
    pool = new StatsPool({ threads: 1, maxQueue: 16, maxQueuePerOwner: 3, timeoutMs: 60_000 });
    const y = data(30, 2, 6);
    const finished: string[] = [];
    const task = (owner: string, seed: number) =>
      pool!.run("permutationRepeatedMeasures", { y, permutations: 5_000, seed }, owner).then(() => finished.push(`${owner}${seed}`));
    // a: one task starting (the process is free) + 3 waiting, the most it may have; b comes after all of them.
    const flood = [1, 2, 3, 4].map((seed) => task("a", seed));
    const capped = await pool.run("bootstrapMean", { values: Float64Array.from([1]), seed: 0, resamples: 1 }, "a").catch((e) => e);
    expect(capped).toBeInstanceOf(AppError);
    expect(capped.message).toBe("statistics: 4 of your queries are already waiting (at most 3 per API key); retry later");
    const other = task("b", 1);
    await Promise.all([...flood, other]);
    expect(finished.indexOf("b1")).toBeLessThanOrEqual(1);
  });

  it("never gives one owner every process: another owner's task starts beside the flood", async () => {
    pool = new StatsPool({ threads: 2, maxQueue: 16, timeoutMs: 60_000 });
    const y = data(30, 2, 6);
    const started: string[] = []; // in order of completion
    const slow = (owner: string, seed: number) => pool!.run("permutationRepeatedMeasures", { y, permutations: 100_000, seed }, owner).then(() => started.push(`${owner}${seed}`));
    const flood = [1, 2, 3, 4].map((seed) => slow("a", seed));
    // Both processes have started (and, were a allowed to, would both be running a's tasks) before b arrives.
    while (pool.state.running < 1) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 2000));
    expect(pool.state).toMatchObject({ threads: 2, running: 1 });
    const waitingBefore = pool.state.queued;
    expect(waitingBefore).toBeGreaterThan(0); // a still has tasks waiting when b arrives
    const doneBefore = started.length;
    const quick = pool.run("bootstrapMean", { values: Float64Array.from([1, 2, 3]), seed: 0, resamples: 10 }, "b").then(() => started.push("b"));
    // b started at once on the process a could not take (run dispatches synchronously), ahead of a's waiting tasks.
    expect(pool.state).toMatchObject({ running: 2, queued: waitingBefore });
    await Promise.all([...flood, quick]);
    // ...and was done before a's later tasks. Not `toBe(doneBefore)`: a's running task may end while b's reply is on
    // its way (a CI run under load saw that), which says nothing about fairness.
    expect(started.indexOf("b")).toBeLessThanOrEqual(doneBefore + 1);
  });

  it("a task past its time limit fails alone; the thread is replaced and the next task runs", async () => {
    pool = new StatsPool({ threads: 1, maxQueue: 4, timeoutMs: 300 });
    const slow = pool.run("permutationRepeatedMeasures", { y: data(200, 2, 20), permutations: 100_000, seed: 0 });
    const next = pool.run("bootstrapMean", { values: Float64Array.from([1, 2, 3, 4]), seed: 0, resamples: 100 });
    await expect(slow).rejects.toThrow("statistics task 'permutationRepeatedMeasures' exceeded 300 ms");
    const result = await next;
    expect(result.estimate).toBe(2.5);
    expect(pool.state.threads).toBe(1);
  }, 60_000);

  it("an error inside a task comes back as that task's error", async () => {
    pool = new StatsPool({ threads: 1, maxQueue: 4, timeoutMs: 60_000 });
    await expect(pool.run("bootstrapMean", { values: new Float64Array(0), seed: 0, resamples: 10 })).rejects.toThrow("bootstrap needs at least one unit, got 0");
  });
});
