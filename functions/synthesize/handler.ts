// The synthesis worker as an AWS Lambda function (container image: ./Dockerfile). Built once per container; each
// invocation runs one job until close to the time limit, then re-dispatches itself (src/dispatch/lambda-worker.ts).
import "reflect-metadata";
import type { Context } from "aws-lambda";
import { loadConfig } from "../../src/config.js";
import { createJobHandlers } from "../../src/dispatch/handlers.js";
import { LambdaDispatcher, type SynthesisInvocation } from "../../src/dispatch/lambda.js";
import { createLambdaWorker } from "../../src/dispatch/lambda-worker.js";
import { createLogger } from "../../src/logger.js";
import { Store } from "../../src/store/store.js";

const config = loadConfig();
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
const run = createLambdaWorker({ store, registry, log, dispatcher, leaseMs: config.jobs.leaseMs });

export const handler = (event: SynthesisInvocation, context: Context) => run(event, context);
