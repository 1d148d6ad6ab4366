import type { Logger } from "../logger.js";
import { JobQueue, type JobHandlerRegistry } from "../services/jobs/queue.js";
import type { Store } from "../store/store.js";
import type { Dispatcher } from "../services/ports.js";
import type { SynthesisInvocation } from "./lambda.js";

/** The part of the Lambda context the worker uses. */
export interface InvocationContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface LambdaWorkerDeps {
  store: Store;
  registry: JobHandlerRegistry;
  log: Logger;
  /** Re-invokes the function for a job that needs another invocation to finish. */
  dispatcher: Dispatcher;
  /** Stop this long before the function's time limit: enough to checkpoint and hand over. */
  safetyMarginMs?: number;
  leaseMs?: number;
}

export type InvocationResult = { jobId: string; result: string };

/**
 * One invocation of the synthesis function: claim the job named in the payload, run it until close to the time
 * limit, checkpoint, and re-dispatch itself to continue (a new invocation resumes from the checkpoint).
 */
export function createLambdaWorker(deps: LambdaWorkerDeps) {
  return async (event: SynthesisInvocation, context: InvocationContext): Promise<InvocationResult> => {
    if (typeof event?.jobId !== "string") throw new Error(`synthesis function: expected a payload { jobId: string }, got ${JSON.stringify(event)}`);
    const queue = new JobQueue(deps.store, deps.registry, deps.log, {
      owner: `lambda-${context.awsRequestId}`,
      leaseMs: deps.leaseMs ?? 60_000,
    });
    const startedAt = new Date();
    const deadline = Date.now() + context.getRemainingTimeInMillis() - (deps.safetyMarginMs ?? 20_000);
    const ran = await queue.runOne({ jobId: event.jobId, deadline });
    if (!ran) {
      // Already finished, cancelled, or held by a live invocation: nothing to do (duplicate deliveries are harmless).
      deps.log.info({ event: "job.skipped", jobId: event.jobId }, "job not claimable");
      return { jobId: event.jobId, result: "skipped" };
    }
    if (ran.result === "yielded" || ran.result === "requeued") await deps.dispatcher.dispatch([event.jobId]);
    // Jobs this one queued on its way (e.g. RECOGNITION of the metamer it wrote), and jobs that waited for this one
    // to end (synthesis jobs for their null distribution; their own invocations found them not yet claimable): no
    // pool polls for them here.
    const ended = ran.result === "succeeded" || ran.result === "failed";
    const dependents = ended ? await deps.store.jobs.queuedDependentsOf(event.jobId) : [];
    const followUps = [...new Set([...(await deps.store.jobs.queuedSince(startedAt)), ...dependents])].filter((id) => id !== event.jobId);
    if (followUps.length) await deps.dispatcher.dispatch(followUps);
    return { jobId: event.jobId, result: ran.result };
  };
}
