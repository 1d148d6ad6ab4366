// The local (no-cloud) database: an embedded PostgreSQL cluster under $METAMERS_DATA_DIR/postgres, or the external
// one from DATABASE_URL. Used by `npm start` (src/main.ts) and by CLI commands that need the database directly.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "./embedded.js";
import { applyMigrations } from "./migrate.js";
import type { PgConfig } from "./pg-config.js";

export const DATABASE_NAME = "metamers";

export interface LocalDatabase {
  config: PgConfig;
  /** "embedded" (started by this process), "running" (the embedded cluster of a running server) or "external" */
  kind: "embedded" | "running" | "external";
  /** migrations applied by this call */
  applied: string[];
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

/** Where a running server's embedded cluster listens (written while it runs, removed on stop). */
export const RUNTIME_FILE = "postgres.json";
const runtimeFile = (dataDir: string) => path.join(dataDir, RUNTIME_FILE);

/**
 * Opens the database: DATABASE_URL's, else the embedded cluster of a server that is running on this data directory,
 * else a fresh start of the embedded cluster (initialised on first use). Creates the `metamers` database when
 * missing and applies pending migrations.
 */
export async function openLocalDatabase(options: {
  dataDir: string;
  external?: PgConfig;
  log?: (line: string) => void;
  /** Events an operator should see (an orphaned PostgreSQL stopped after a crash). */
  notice?: (message: string) => void;
  /** Reuse the cluster of a running server instead of starting one (CLI). Default false. */
  attach?: boolean;
  /** Apply pending migrations (default true; `npm run db:status` only looks). */
  migrate?: boolean;
}): Promise<LocalDatabase> {
  const migrate = options.migrate ?? true;
  if (options.external) {
    const applied = migrate ? await applyMigrations(options.external) : [];
    return { config: options.external, kind: "external", applied, stop: async () => {} };
  }
  await mkdir(options.dataDir, { recursive: true });
  await letPostgresEnter(options.dataDir);
  if (options.attach && existsSync(runtimeFile(options.dataDir))) {
    const config = JSON.parse(await readFile(runtimeFile(options.dataDir), "utf8")) as PgConfig;
    if (await reachable(config)) {
      const applied = migrate ? await applyMigrations(config) : [];
      return { config, kind: "running", applied, stop: async () => {} };
    }
  }
  const credentials = await loadCredentials(options.dataDir);
  const server = await startEmbeddedPostgres({
    dataDir: path.join(options.dataDir, "postgres"),
    ...credentials,
    log: options.log,
    notice: options.notice,
  });
  try {
    await ensureDatabase(server.config, DATABASE_NAME);
    const config = { ...server.config, database: DATABASE_NAME };
    const applied = migrate ? await applyMigrations(config) : [];
    await writeFile(runtimeFile(options.dataDir), JSON.stringify(config), { mode: 0o600 });
    return {
      config,
      kind: "embedded",
      applied,
      async stop() {
        await rm(runtimeFile(options.dataDir), { force: true });
        await server.stop();
      },
    };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/**
 * Under root PostgreSQL runs as the `postgres` user, which must pass through the data directory to reach its cluster
 * in `postgres/`. Only the data directory itself (the hub's own tree) is opened (search, not read: the key and
 * credential files in it stay 0600); its parents are checked, never changed, by startEmbeddedPostgres.
 */
async function letPostgresEnter(dataDir: string): Promise<void> {
  if (os.userInfo().uid !== 0) return;
  const { mode } = await stat(dataDir);
  if ((mode & 0o001) === 0) await chmod(dataDir, mode | 0o001);
}

/** The superuser password is chosen at initdb time and kept beside the cluster (mode 0600). */
async function loadCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, "postgres-credentials.json");
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8")) as Credentials;
  const credentials = { user: "postgres", password: randomBytes(18).toString("base64url") };
  await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

async function ensureDatabase(server: PgConfig, name: string): Promise<void> {
  const client = new pg.Client({ ...server, database: "postgres" });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

async function reachable(config: PgConfig): Promise<boolean> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}
