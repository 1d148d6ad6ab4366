// vitest globalSetup: one embedded PostgreSQL for the whole test run, with a migrated template database.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { applyMigrations } from "../../src/store/migrate.js";
import type { PgConfig } from "../../src/store/pg-config.js";
import { TEMPLATE_DATABASE } from "./constants.js";

export default async function setup(project: TestProject) {
  const root = await mkdtemp(path.join(os.tmpdir(), "metamers-test-pg-"));
  // Under root, PostgreSQL runs as the postgres user, which must be able to enter this mkdtemp (0700) folder.
  await chmod(root, 0o711);
  // Tests trade durability for speed (a crashed test run's cluster is thrown away); the service never does.
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, "data"), unsafeNoFsync: true });
  const teardown = async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await createTemplate(server.config);
  } catch (e) {
    // A failed setup must not leave its PostgreSQL running: its pipes would keep vitest from exiting.
    await teardown();
    throw e;
  }
  project.provide("pgServer", server.config);

  return teardown;
}

/** The migrated template database that every test file copies (test/helpers/db.ts). */
async function createTemplate(server: PgConfig): Promise<void> {
  const admin = new pg.Client(server);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
    await applyMigrations({ ...server, database: TEMPLATE_DATABASE });
    // The schema engine's pool may linger; CREATE DATABASE ... TEMPLATE needs the template to have no sessions.
    await admin.query(`ALTER DATABASE "${TEMPLATE_DATABASE}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`);
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [TEMPLATE_DATABASE],
    );
  } finally {
    await admin.end();
  }
}
