// Secrets of a cloud deployment, read from AWS Secrets Manager. Functions read the database credentials here at cold
// start (never from environment variables, which Lambda shows to anyone who can read the function's configuration),
// and the deploy-time bootstrap writes the first instance-admin key here (functions/migrate).
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AppConfig } from "../config.js";
import type { PgConfig } from "../store/pg-config.js";

/** The JSON an RDS/Aurora-managed secret holds (what CDK's `DatabaseCluster` generates and rotates). */
interface RdsSecret {
  username: string;
  password: string;
  host: string;
  port?: number | string;
  dbname?: string;
}

/** The secret's string value, or null when it has none (a binary secret, or a secret with no version yet). */
export async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string | null> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return out.SecretString ?? null;
}

export async function writeSecretString(client: SecretsManagerClient, secretId: string, value: string): Promise<void> {
  await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
}

/** The database settings in an RDS secret; a value of another shape is an error naming the fields expected. */
export function pgConfigFromSecret(secretId: string, value: string | null): PgConfig {
  const expected = `a JSON object { username, password, host, port, dbname }`;
  let parsed: Partial<RdsSecret>;
  try {
    parsed = JSON.parse(value ?? "") as Partial<RdsSecret>;
  } catch {
    throw new Error(`database secret ${secretId}: expected ${expected}, got ${value === null ? "no string value" : "a value that is not JSON"}`);
  }
  const missing = (["username", "password", "host"] as const).filter((k) => typeof parsed?.[k] !== "string" || !parsed[k]);
  if (missing.length) {
    // Field names only: never the values, one of which is the password.
    throw new Error(`database secret ${secretId}: expected ${expected}; missing or not a string: ${missing.join(", ")}`);
  }
  const port = parsed.port === undefined ? 5432 : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`database secret ${secretId}: port: expected an integer from 1 to 65535, got ${JSON.stringify(parsed.port)}`);
  }
  return { host: parsed.host!, port, user: parsed.username!, password: parsed.password!, database: parsed.dbname || "metamers" };
}

/**
 * The configuration with its database filled in from Secrets Manager when METAMERS_DATABASE_SECRET names a secret
 * (the cloud); otherwise as it is (DATABASE_URL, or the embedded database). Called once per cold start.
 */
export async function withDatabaseFromSecrets(config: AppConfig, client?: SecretsManagerClient): Promise<AppConfig> {
  const secretId = config.cloud?.databaseSecret;
  if (!secretId) return config;
  const secrets = client ?? new SecretsManagerClient({});
  const database = pgConfigFromSecret(secretId, await readSecretString(secrets, secretId));
  return { ...config, externalDatabase: database };
}
