// The deploy-time setup (functions/migrate): against a fresh, empty embedded PostgreSQL database it applies every
// migration with the wasm schema engine, creates the first instance-admin key and writes it to Secrets Manager
// (mocked at the AWS API edge), never logs or returns the key, and a second run (the entry module, as Lambda loads
// it) changes nothing.
import { readdirSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import pg from "pg";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createMigrationHandler } from "../../functions/migrate/migrate.js";
import { loadConfig } from "../../src/config.js";
import { AuthService } from "../../src/services/auth.js";
import type { PgConfig } from "../../src/store/pg-config.js";
import { Store } from "../../src/store/store.js";
import { REPO_ROOT } from "../helpers/constants.js";

const DB_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamers-db";
const KEY_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamers-admin-key";
const secretsMock = mockClient(SecretsManagerClient);
const migrations = readdirSync(path.join(REPO_ROOT, "prisma", "migrations"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

const server = inject("pgServer");
const databases: string[] = [];
const stores: Store[] = [];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ ...server, database: "postgres" });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/** An empty database (no template: nothing migrated) and a fake Secrets Manager holding its credentials. */
async function emptyDatabase(): Promise<{ db: PgConfig; secrets: Map<string, string> }> {
  const name = `mig_${databases.length}_${process.pid}`;
  await admin(`CREATE DATABASE "${name}"`);
  databases.push(name);
  const db = { ...server, database: name };
  const secrets = new Map([[DB_SECRET, JSON.stringify({ engine: "postgres", username: db.user, password: db.password, host: db.host, port: db.port, dbname: name })]]);
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    if (!secrets.has(SecretId)) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value", $metadata: {} });
    return { SecretString: secrets.get(SecretId) };
  });
  secretsMock.on(PutSecretValueCommand).callsFake(({ SecretId, SecretString }: { SecretId: string; SecretString: string }) => {
    secrets.set(SecretId, SecretString);
    return { VersionId: "v" };
  });
  return { db, secrets };
}

function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { log: pino({ level: "trace" }, sink), text: () => lines.join("") };
}

const env = { METAMERS_DATABASE_SECRET: DB_SECRET, METAMERS_ADMIN_KEY_SECRET: KEY_SECRET, LOG_LEVEL: "silent" } as const;

async function openStore(db: PgConfig): Promise<Store> {
  const store = Store.connect(db, { poolSize: 2 });
  stores.push(store);
  return store;
}

beforeAll(() => {
  expect(migrations.length).toBeGreaterThan(3);
});
afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const name of databases) await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  secretsMock.restore();
});

describe("migration function", () => {
  it("migrates an empty database, stores a working instance-admin key in Secrets Manager without logging it, and is idempotent", async () => {
    const { db, secrets } = await emptyDatabase();
    const { log, text } = capturedLogger();
    const run = createMigrationHandler({ config: loadConfig(env), secrets: new SecretsManagerClient({ region: "eu-west-1" }), log });

    const first = await run();
    expect(first.applied).toEqual(migrations);
    expect(first.bootstrap.action).toBe("created");
    const key = secrets.get(KEY_SECRET)!;
    expect(key).toMatch(/^mhk_/);
    const store = await openStore(db);
    const caller = await new AuthService(store).authenticate(`Bearer ${key}`);
    expect(caller).toMatchObject({ groupId: first.bootstrap.groupId, role: "ADMIN", instanceAdmin: true });
    expect(await store.groups.findGroup(first.bootstrap.groupId)).toMatchObject({ name: "admin" });
    // Printed nowhere: not in the logs, not in what the function returns to CloudFormation.
    expect(text()).toContain("migrate.applied");
    expect(text()).not.toContain(key);
    expect(JSON.stringify(first)).not.toContain(key);
    expect(JSON.stringify(secretsMock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId))).toContain(DB_SECRET);

    // The second run is the entry module as Lambda loads it (environment only, its own client): nothing to do.
    for (const [k, v] of Object.entries({ ...env, AWS_REGION: "eu-west-1", DATABASE_URL: "" })) vi.stubEnv(k, v);
    const entry = await import("../../functions/migrate/handler.js");
    const second = await entry.handler();
    expect(second.applied).toEqual([]);
    expect(second.bootstrap).toEqual({ ...first.bootstrap, action: "kept" });
    expect(secrets.get(KEY_SECRET)).toBe(key);
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(await store.groups.countGroups()).toBe(1);
  }, 120_000);

  it("replaces a placeholder secret with a new key of the first group, and revokes the key when the secret cannot be written", async () => {
    const { db, secrets } = await emptyDatabase();
    const { log, text } = capturedLogger();
    const run = createMigrationHandler({ config: loadConfig(env), secrets: new SecretsManagerClient({ region: "eu-west-1" }), log });
    const first = await run();
    const store = await openStore(db);
    const auth = new AuthService(store);
    const adminCtx = { groupId: first.bootstrap.groupId, role: "ADMIN" as const, apiKeyId: "test" };

    // CDK creates the secret with a random placeholder: not a key, so a key is issued for the existing group.
    secrets.set(KEY_SECRET, "placeholder-generated-by-cloudformation");
    const second = await run();
    expect(second).toMatchObject({ applied: [], bootstrap: { action: "reissued", groupId: first.bootstrap.groupId } });
    expect(await auth.authenticate(`Bearer ${secrets.get(KEY_SECRET)}`)).toMatchObject({ role: "ADMIN", groupId: first.bootstrap.groupId, instanceAdmin: true });
    expect(text()).not.toContain(secrets.get(KEY_SECRET)!);

    // Writing the secret fails: the deploy fails, and the key it had just issued is revoked (nobody could read it).
    secrets.set(KEY_SECRET, "placeholder-again");
    secretsMock.on(PutSecretValueCommand).rejects(new Error("AccessDeniedException: not authorized to perform secretsmanager:PutSecretValue"));
    const before = (await auth.listApiKeys(adminCtx)).filter((k) => !k.revokedAt).length;
    await expect(run()).rejects.toThrow(/PutSecretValue/);
    expect((await auth.listApiKeys(adminCtx)).filter((k) => !k.revokedAt)).toHaveLength(before);
  }, 120_000);

  it("names the missing fields of a malformed database secret, never its values", async () => {
    const { secrets } = await emptyDatabase();
    secrets.set(DB_SECRET, JSON.stringify({ username: "metamers", password: "hunter2-secret-value", port: 5432 }));
    const run = createMigrationHandler({ config: loadConfig(env), secrets: new SecretsManagerClient({ region: "eu-west-1" }), log: pino({ level: "silent" }) });
    const error = await run().catch((e: Error) => e);
    expect(String(error)).toMatch(/database secret .*metamers-db: expected a JSON object \{ username, password, host, port, dbname \}; missing or not a string: host/);
    expect(String(error)).not.toContain("hunter2");
  });

  // Last: a fresh import of the entry needs vi.resetModules, and the schema engine's wasm must be instantiated only
  // once per process (docs/stack.md G15), so nothing may migrate after it.
  it("refuses to load without its secrets configured, naming the variables", async () => {
    vi.resetModules();
    vi.stubEnv("METAMERS_DATABASE_SECRET", "");
    vi.stubEnv("METAMERS_ADMIN_KEY_SECRET", "");
    vi.stubEnv("DATABASE_URL", "");
    await expect(import("../../functions/migrate/handler.js")).rejects.toThrow(
      /expected METAMERS_DATABASE_SECRET \(or DATABASE_URL\) and METAMERS_ADMIN_KEY_SECRET to be set/,
    );
  });
});
