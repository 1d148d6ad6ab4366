// The deploy-time setup, as a function of its parts (the entry, ./handler.ts, wires them from the environment): apply
// the Prisma migrations with the wasm schema engine (src/store/migrate.ts, exactly what `npm run db:migrate` runs
// locally), then make sure the first instance-admin key exists and sits in Secrets Manager. Run by a CDK Trigger on
// every deploy (infra/stack.ts): both steps are idempotent, and a thrown error fails the deploy.
import { ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { bootstrapInstanceAdmin, type BootstrapResult } from "../../src/cloud/bootstrap.js";
import { readSecretString, withDatabaseFromSecrets, writeSecretString } from "../../src/cloud/secrets.js";
import type { AppConfig } from "../../src/config.js";
import type { Logger } from "../../src/logger.js";
import { AuthService } from "../../src/services/auth.js";
import { applyMigrations } from "../../src/store/migrate.js";
import { Store } from "../../src/store/store.js";

export interface MigrationResult {
  /** Migrations applied by this run (empty when the database was up to date). */
  applied: string[];
  /** What the bootstrap did; never the key itself (this result lands in CloudFormation's and Lambda's logs). */
  bootstrap: BootstrapResult;
}

export interface MigrationDeps {
  config: AppConfig;
  secrets: SecretsManagerClient;
  log: Logger;
}

/** Checks the configuration a migration run needs; the message names every variable missing. */
export function checkMigrationConfig(config: AppConfig): void {
  const missing: string[] = [];
  if (!config.cloud?.databaseSecret && !config.externalDatabase) missing.push("METAMERS_DATABASE_SECRET (or DATABASE_URL)");
  if (!config.cloud?.adminKeySecret) missing.push("METAMERS_ADMIN_KEY_SECRET");
  if (missing.length) {
    throw new Error(
      `migration function: expected ${missing.join(" and ")} to be set (the Secrets Manager secrets of the database ` +
        `credentials and of the instance-admin key), got none`,
    );
  }
}

export function createMigrationHandler(deps: MigrationDeps): () => Promise<MigrationResult> {
  checkMigrationConfig(deps.config);
  return async () => {
    const config = await withDatabaseFromSecrets(deps.config, deps.secrets);
    const database = config.externalDatabase!;
    const applied = await applyMigrations(database);
    deps.log.info({ event: "migrate.applied", applied, host: database.host, database: database.database }, applied.length ? `applied ${applied.length} migrations` : "database is up to date");

    const secretId = config.cloud!.adminKeySecret!;
    const store = Store.connect(database, { poolSize: 2 });
    try {
      const bootstrap = await bootstrapInstanceAdmin({
        store,
        auth: new AuthService(store),
        secret: {
          // A secret without a value yet is an empty one; any other failure (no permission, no secret) fails the deploy.
          read: () => readSecretString(deps.secrets, secretId).catch((e: unknown) => (e instanceof ResourceNotFoundException ? null : Promise.reject(e))),
          write: (key) => writeSecretString(deps.secrets, secretId, key),
        },
      });
      deps.log.info({ event: "bootstrap.admin_key", ...bootstrap, secret: secretId }, `instance-admin key ${bootstrap.action} (in Secrets Manager: ${secretId})`);
      return { applied, bootstrap };
    } finally {
      await store.close();
    }
  };
}
