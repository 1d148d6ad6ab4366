// vitest globalSetup: one embedded PostgreSQL for the whole test run, with a migrated template database.
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/store/embedded.js";
import { applyMigrations } from "../../src/store/migrate.js";
import { TEMPLATE_DATABASE } from "./constants.js";

export default async function setup(project: TestProject) {
  const root = await mkdtemp(path.join(os.tmpdir(), "metamers-test-pg-"));
  // Under root, PostgreSQL runs as the postgres user, which must be able to enter the mkdtemp (0700) folder (G18).
  await chmod(root, 0o777);
  const lines: string[] = [];
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, "data"), log: (l) => lines.push(l) }).catch(
    (e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : e}\n${lines.slice(-20).join("\n")}`);
    },
  );
  const admin = new pg.Client(server.config);
  await admin.connect();
  await admin.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
  await applyMigrations({ ...server.config, database: TEMPLATE_DATABASE });
  // The schema engine's pool may linger; CREATE DATABASE ... TEMPLATE needs the template to have no sessions.
  await admin.query(`ALTER DATABASE "${TEMPLATE_DATABASE}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`);
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [TEMPLATE_DATABASE],
  );
  await admin.end();
  project.provide("pgServer", server.config);

  return async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
}
