// Lambda entry point of the deploy-time setup (migrations + the first instance-admin key), invoked by a CDK Trigger
// after the database exists (infra/stack.ts). The work is in ./migrate.ts; this file only wires the environment.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { createMigrationHandler } from "./migrate.js";

const config = loadConfig();
const run = createMigrationHandler({ config, secrets: new SecretsManagerClient({}), log: createLogger(config.logLevel) });

export const handler = () => run();
