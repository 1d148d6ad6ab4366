// The synthesis worker as an AWS Lambda function (container image: ./Dockerfile). Built once per container (the
// composition is src/worker.ts); each invocation runs one job until close to the time limit, then re-dispatches
// itself (src/dispatch/lambda-worker.ts).
import "reflect-metadata";
import type { Context } from "aws-lambda";
import { withDatabaseFromSecrets } from "../../src/cloud/secrets.js";
import { loadConfig } from "../../src/config.js";
import { createSynthesisFunction, type SynthesisInvocation } from "../../src/worker.js";

// Database credentials from Secrets Manager at cold start (METAMERS_DATABASE_SECRET), never from the environment.
const run = createSynthesisFunction(await withDatabaseFromSecrets(loadConfig()));

export const handler = (event: SynthesisInvocation, context: Context) => run(event, context);
