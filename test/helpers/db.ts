// Test databases. vitest's globalSetup (test/helpers/global-setup.ts) starts ONE embedded PostgreSQL for the whole
// run and migrates a template database once; each test file calls createTestDatabase() for a private copy.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import type { PgConfig } from "../../src/store/pg-config.js";
import { Store } from "../../src/store/store.js";
import type { S3BlobConfig } from "../../src/store/s3-blob-store.js";

import { TEMPLATE_DATABASE } from "./constants.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The embedded cluster's admin connection (database "postgres"). */
    pgServer: PgConfig;
  }
}

export interface TestDatabase {
  config: PgConfig;
  store: Store;
  /** Disconnects the store and drops the database. */
  drop(): Promise<void>;
}

async function adminQuery(server: PgConfig, sql: string): Promise<void> {
  const client = new pg.Client({ ...server, database: "postgres" });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, fully migrated database (a copy of the template) and a Store connected to it (`blobChunkBytes`: small chunks
 * for blob tests; `s3`: blob bytes in that bucket, test/helpers/s3.ts).
 */
export async function createTestDatabase(options: { blobChunkBytes?: number; s3?: S3BlobConfig } = {}): Promise<TestDatabase> {
  const server = inject("pgServer");
  const name = `t_${randomBytes(6).toString("hex")}`;
  await adminQuery(server, `CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DATABASE}"`);
  const config: PgConfig = { ...server, database: name };
  const store = Store.connect(config, { poolSize: 4, blobChunkBytes: options.blobChunkBytes, s3: options.s3 });
  return {
    config,
    store,
    async drop() {
      await store.close();
      await adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** Row count of every table (migrations bookkeeping excluded): compare before/after to prove nothing was written. */
export async function countRows(store: Store): Promise<Record<string, number>> {
  return store.countRows();
}
