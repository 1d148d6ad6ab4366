// Lambda entry point: builds the app once per container (top-level await), then serves each invocation.
// The database is Aurora's, its credentials read from Secrets Manager at cold start (METAMERS_DATABASE_SECRET), or
// DATABASE_URL outside AWS; migrations are applied by the deploy (functions/migrate), not here.
import "reflect-metadata";
import { createApp } from "../src/app.js";
import { withDatabaseFromSecrets } from "../src/cloud/secrets.js";
import { loadConfig } from "../src/config.js";
import { createGraphQLHandler } from "./graphql-handler.js";
import { startDispatcher } from "../src/dispatch/start.js";

const config = await withDatabaseFromSecrets(loadConfig());
if (!config.externalDatabase) {
  throw new Error("METAMERS_DATABASE_SECRET or DATABASE_URL: the Lambda handler needs a database (a Secrets Manager secret with its credentials, or postgres://user:password@host:5432/db); neither is set");
}
const app = await createApp(config, { database: config.externalDatabase });
// Synthesis jobs go to the synthesis function (METAMERS_DISPATCHER=lambda, set by infra/); never a local pool here.
await startDispatcher(app, config.externalDatabase);

export const handler = createGraphQLHandler(app);
