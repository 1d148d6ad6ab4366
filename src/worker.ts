// The worker's composition root: which handler runs each job kind, wired to the services and the engine. Used by
// every kind of worker: a local pool process (this file, forked by src/dispatch/local-pool.ts), the synthesis Lambda
// function (functions/synthesize/handler.ts), and tests that run jobs in-process.
import "reflect-metadata";
import type { AppConfig } from "./config.js";
import { LambdaDispatcher, type SynthesisInvocation } from "./dispatch/lambda.js";
import { createLambdaWorker } from "./dispatch/lambda-worker.js";
import { POOL_WORKER_ARG, servePoolWorker, type WorkerDeps, type WorkerHandlers } from "./dispatch/worker-process.js";
import { EngineSessionCache, useExecutionProviders } from "./engine/index.js";
import { createLogger } from "./logger.js";
import { NullDistributionJobHandler } from "./services/jobs/handlers/null-distribution.js";
import { RecognitionJobHandler } from "./services/jobs/handlers/recognition.js";
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
  // GPU hosts (METAMERS_EXECUTION_PROVIDERS=cuda,cpu): the synthesis sessions of this process use them.
  if (deps.config.jobs.executionProviders) useExecutionProviders(deps.config.jobs.executionProviders);
  const uploads = new UploadService(deps.store, deps.config.limits, deps.config.uploadTtlSeconds, () => "");
  const stimuli = new StimulusService(deps.store, deps.config.limits, uploads);
  const sessions = new EngineSessionCache(16, deps.config.jobs.sessionThreads);
  const registry = new JobHandlerRegistry()
    .register("SYNTHESIS", new SynthesisJobHandler({ stimuli, sessions, softwareVersions: softwareVersions(deps.config.version) }))
    .register("NULL_DISTRIBUTION", new NullDistributionJobHandler({ stimuli, sessions }))
    .register("RECOGNITION", new RecognitionJobHandler({ stimuli, sessions }));
  return { registry, close: () => sessions.close() };
}

/**
 * The synthesis Lambda function's handler, built once per container: each invocation runs one job until close to the
 * time limit, then re-dispatches itself to continue (src/dispatch/lambda-worker.ts).
 */
export function createSynthesisFunction(config: AppConfig): ReturnType<typeof createLambdaWorker> {
  if (!config.externalDatabase) throw new Error("synthesis function: DATABASE_URL must be set");
  if (!config.jobs.lambdaFunction) throw new Error("synthesis function: METAMERS_LAMBDA_FUNCTION must name this function (for continuations)");
  const log = createLogger(config.logLevel);
  const store = Store.connect(config.externalDatabase, { poolSize: 2 });
  const { registry } = createJobHandlers({ store, config, log });
  const dispatcher = new LambdaDispatcher({
    functionName: config.jobs.lambdaFunction,
    endpoint: config.jobs.lambdaEndpoint,
    region: config.jobs.lambdaRegion,
  });
  return createLambdaWorker({ store, registry, log, dispatcher, leaseMs: config.jobs.leaseMs });
}

// Forked by the local pool as `src/worker.ts pool-worker`: serve jobs over IPC. Imported anywhere else (the Lambda
// function, tests), this file only defines the functions above.
if (process.argv[2] === POOL_WORKER_ARG) servePoolWorker(createJobHandlers);
