import type { Logger } from "../logger.js";
import { JobQueue, type JobHandlerRegistry, type RunResult } from "../services/jobs/queue.js";
import type { Store } from "../store/store.js";

export interface DrainOptions {
  store: Store;
  registry: JobHandlerRegistry;
  log: Logger;
  owner: string;
  leaseMs: number;
  /** Exit after finding nothing claimable for this long (jobs waiting on a dependency another worker runs). */
  idleMs: number;
  /** How often to look again while idle. */
  pollMs?: number;
}

export interface DrainSummary {
  /** Jobs run, by result (succeeded, failed, requeued, ...). */
  results: Record<string, number>;
  ran: number;
  elapsedMs: number;
}

/**
 * The GPU worker's loop (one AWS Batch job, or any process that should work until the table is empty): the same job
 * queue and handlers as a local pool worker, claiming jobs back to back until none has been claimable for `idleMs`,
 * then returning so the process exits and the instance can scale in.
 */
export async function drainJobs(options: DrainOptions): Promise<DrainSummary> {
  const started = Date.now();
  const queue = new JobQueue(options.store, options.registry, options.log, { owner: options.owner, leaseMs: options.leaseMs });
  const results: Record<string, number> = {};
  let ran = 0;
  let idleSince = Date.now();
  for (;;) {
    let result: RunResult | null = null;
    try {
      result = await queue.runOne();
    } catch (e) {
      // A database hiccup: count it as idle time and look again rather than losing the worker.
      options.log.warn({ err: e, event: "drain.claim_failed" }, "claiming a job failed; retrying");
    }
    if (result) {
      ran++;
      results[result.result] = (results[result.result] ?? 0) + 1;
      idleSince = Date.now();
      continue;
    }
    if (Date.now() - idleSince >= options.idleMs) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? 1000, options.idleMs)));
  }
  const summary = { results, ran, elapsedMs: Date.now() - started };
  options.log.info({ event: "drain.finished", owner: options.owner, ...summary }, `queue drained: ran ${ran} jobs`);
  return summary;
}
