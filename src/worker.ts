// The worker's composition root: which handler runs each job kind, wired to the services and the engine. Used by
// every kind of worker: a local pool process (this file, forked by src/dispatch/local-pool.ts), the synthesis Lambda
// function (functions/synthesize/handler.ts), and tests that run jobs in-process.
import "reflect-metadata";
import os from "node:os";
import type { AppConfig } from "./config.js";
import { LambdaDispatcher, type SynthesisInvocation } from "./dispatch/lambda.js";
import { drainJobs, type DrainSummary } from "./dispatch/batch-worker.js";
import { createLambdaWorker } from "./dispatch/lambda-worker.js";
import { POOL_WORKER_ARG, servePoolWorker, type WorkerDeps, type WorkerHandlers } from "./dispatch/worker-process.js";
import { activeExecutionProvider, EngineSessionCache, useExecutionProviders } from "./engine/index.js";
import { createLogger, type Logger } from "./logger.js";
import { NullDistributionJobHandler } from "./services/jobs/handlers/null-distribution.js";
import { RecognitionJobHandler } from "./services/jobs/handlers/recognition.js";
import { RobustnessJobHandler } from "./services/jobs/handlers/robustness.js";
import { SynthesisJobHandler } from "./services/jobs/handlers/synthesis.js";
import { JobHandlerRegistry } from "./services/jobs/queue.js";
import { softwareVersions } from "./services/software-versions.js";
import { StimulusService } from "./services/stimuli.js";
import { UploadService } from "./services/uploads.js";
import { Store } from "./store/store.js";

export type { SynthesisInvocation, WorkerDeps, WorkerHandlers };

/**
 * Every job kind a worker (pool process or Lambda invocation) can run. To add a kind, register its handler here
 * with one line.
 */
export function createJobHandlers(deps: WorkerDeps): WorkerHandlers {
  // GPU hosts (METAMERS_EXECUTION_PROVIDERS=cuda,cpu): the sessions of this process use them, or CPU with a warning
  // when they cannot (no CUDA library or device); each metamer records the provider that ran it.
  if (deps.config.jobs.executionProviders) {
    useExecutionProviders(deps.config.jobs.executionProviders, {
      onFallback: (f) =>
        deps.log.warn(
          { event: "engine.execution_provider_fallback", requested: f.requested, using: f.using, reason: f.reason },
          `execution providers ${f.requested.join(",")} unavailable; running on ${f.using.join(",")}`,
        ),
    });
  }
  const uploads = new UploadService(deps.store, deps.config.limits, deps.config.uploadTtlSeconds, () => "");
  const stimuli = new StimulusService(deps.store, deps.config.limits, uploads);
  const sessions = new EngineSessionCache(16, deps.config.jobs.sessionThreads);
  const versions = softwareVersions(deps.config.version, { executionProvider: activeExecutionProvider });
  const registry = new JobHandlerRegistry()
    .register("SYNTHESIS", new SynthesisJobHandler({ stimuli, sessions, softwareVersions: versions }))
    .register("NULL_DISTRIBUTION", new NullDistributionJobHandler({ stimuli, sessions }))
    .register("RECOGNITION", new RecognitionJobHandler({ stimuli, sessions }))
    .register("ROBUSTNESS", new RobustnessJobHandler({ stimuli, softwareVersions: versions }));
  return { registry, close: () => sessions.close() };
}

/**
 * The synthesis Lambda function's handler, built once per container: each invocation runs one job until close to the
 * time limit, then re-dispatches itself to continue (src/dispatch/lambda-worker.ts).
 */
export function createSynthesisFunction(config: AppConfig): ReturnType<typeof createLambdaWorker> & { close(): Promise<void> } {
  if (!config.externalDatabase) throw new Error("synthesis function: DATABASE_URL must be set");
  if (!config.jobs.lambdaFunction) throw new Error("synthesis function: METAMERS_LAMBDA_FUNCTION must name this function (for continuations)");
  const log = createLogger(config.logLevel);
  const store = Store.connect(config.externalDatabase, { poolSize: 2, s3: config.s3 });
  const { registry, close } = createJobHandlers({ store, config, log });
  const dispatcher = new LambdaDispatcher({
    functionName: config.jobs.lambdaFunction,
    endpoint: config.jobs.lambdaEndpoint,
    region: config.jobs.lambdaRegion,
  });
  const handler = createLambdaWorker({ store, registry, log, dispatcher, leaseMs: config.jobs.leaseMs });
  // Lambda never closes a container; tests that start several in one process (the serverless rehearsal) do.
  return Object.assign(handler, {
    close: async () => {
      await close();
      await dispatcher.close();
      await store.close();
    },
  });
}

/**
 * The GPU worker (an AWS Batch job running functions/gpu-worker): the same handlers as a pool worker, with the
 * configured execution providers (cuda,cpu; CPU with a logged warning when CUDA is unusable), claiming jobs until
 * none has been claimable for METAMERS_DRAIN_IDLE_MS; then it closes everything and resolves.
 */
export async function runDrainingWorker(config: AppConfig, log: Logger = createLogger(config.logLevel)): Promise<DrainSummary> {
  if (!config.externalDatabase) throw new Error("GPU worker: expected METAMERS_DATABASE_SECRET or DATABASE_URL to name the database, got neither");
  const store = Store.connect(config.externalDatabase, { poolSize: 3, s3: config.s3 });
  const handlers = createJobHandlers({ store, config, log });
  try {
    return await drainJobs({
      store,
      registry: handlers.registry,
      log,
      owner: `gpu-${os.hostname()}-${process.pid}`,
      leaseMs: config.jobs.leaseMs,
      idleMs: config.jobs.drainIdleMs,
    });
  } finally {
    await handlers.close();
    await store.close();
  }
}

// Forked by the local pool as `src/worker.ts pool-worker`: serve jobs over IPC. Imported anywhere else (the Lambda
// function, tests), this file only defines the functions above.
if (process.argv[2] === POOL_WORKER_ARG) servePoolWorker(createJobHandlers);
