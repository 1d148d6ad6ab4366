// Lambda entry point: builds the app once per container (top-level await), then serves each invocation.
// The database is the one in DATABASE_URL (Aurora in the cloud); migrations are applied by the deploy, not here.
import "reflect-metadata";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createGraphQLHandler } from "./graphql-handler.js";
import { startDispatcher } from "../src/dispatch/start.js";

const config = loadConfig();
if (!config.externalDatabase) {
  throw new Error("DATABASE_URL: the Lambda handler needs a PostgreSQL URL (postgres://user:password@host:5432/db); none is set");
}
const app = await createApp(config, { database: config.externalDatabase });
// Synthesis jobs go to the synthesis function (METAMERS_DISPATCHER=lambda, set by infra/); never a local pool here.
await startDispatcher(app, config.externalDatabase);

export const handler = createGraphQLHandler(app);
