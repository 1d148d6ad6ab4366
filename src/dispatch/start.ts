import type { App } from "../app.js";
import type { PgConfig } from "../store/pg-config.js";
import { NoDispatcher, type Dispatcher } from "../services/ports.js";
import { BatchDispatcher } from "./batch.js";
import { LambdaDispatcher } from "./lambda.js";
import { LocalWorkerPool } from "./local-pool.js";

/**
 * Attaches the configured dispatcher to a running app (METAMERS_DISPATCHER): the local worker pool (default, one
 * worker per core), the Lambda synthesis function, or none (an API-only node). Stopped with the app.
 */
export async function startDispatcher(app: App, database: PgConfig): Promise<Dispatcher> {
  const jobs = app.config.jobs;
  let dispatcher: Dispatcher;
  if (jobs.dispatcher === "lambda") {
    if (!jobs.lambdaFunction) throw new Error("METAMERS_DISPATCHER=lambda needs METAMERS_LAMBDA_FUNCTION (the synthesis function's name)");
    dispatcher = new LambdaDispatcher({ functionName: jobs.lambdaFunction, endpoint: jobs.lambdaEndpoint, region: jobs.lambdaRegion });
  } else if (jobs.dispatcher === "local" && jobs.workers > 0) {
    const pool = new LocalWorkerPool({ size: jobs.workers, database, config: app.config, log: app.log, store: app.store });
    await pool.start();
    dispatcher = pool;
  } else {
    dispatcher = new NoDispatcher();
  }
  app.services.synthesis.useDispatcher(dispatcher);
  app.onClose(() => dispatcher.close());
  // GPU workers on AWS Batch, for the batches the dispatch policy sends there (METAMERS_BATCH_JOB_QUEUE). Meant beside
  // the Lambda dispatcher or none: local pool workers poll the whole job table and would take those jobs first.
  if (jobs.batch) {
    const gpu = new BatchDispatcher(jobs.batch);
    app.services.synthesis.useGpuDispatcher(gpu);
    app.onClose(() => gpu.close());
  }
  app.log.info(
    { event: "dispatcher.started", dispatcher: dispatcher.kind, workers: jobs.dispatcher === "local" ? jobs.workers : undefined, gpuBatch: jobs.batch?.jobQueue },
    "job dispatcher ready",
  );
  return dispatcher;
}
