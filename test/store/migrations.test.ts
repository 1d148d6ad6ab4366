import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, migrationStatus } from "../../src/store/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const repo = path.resolve(import.meta.dirname, "../..");
const migrationsDir = path.join(repo, "prisma/migrations");

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("migrations (wasm schema engine, Prisma folder format)", () => {
  it("prisma/schema.prisma has no change that is missing from prisma/migrations (else: npm run db:migrate:create -- <name>)", async () => {
    const { diffSchemas } = await import(path.join(repo, "scripts/prisma-wasm.mjs"));
    const schema = await readFile(path.join(repo, "prisma/schema.prisma"), "utf8");
    const snapshot = await readFile(path.join(migrationsDir, "schema.snapshot.prisma"), "utf8");
    const sql: string = await diffSchemas(snapshot, schema);
    expect(sql.includes("This is an empty migration.") || sql.trim() === "").toBe(true);
  });

  it("deploy is idempotent and records each migration with sha256(migration.sql) as checksum, like prisma migrate deploy", async () => {
    expect(await applyMigrations(db.config)).toEqual([]);
    const folders = (await readdir(migrationsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    const client = new pg.Client(db.config);
    await client.connect();
    try {
      const rows = (await client.query(`SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`)).rows;
      expect(rows.map((r) => r.migration_name)).toEqual(folders);
      for (const r of rows) {
        const sql = await readFile(path.join(migrationsDir, r.migration_name, "migration.sql"));
        expect(r.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
        expect(r.finished_at).not.toBeNull();
      }
    } finally {
      await client.end();
    }
  });

  it("status reports the database up to date", async () => {
    const status = (await migrationStatus(db.config)) as { history: unknown; failedMigrationNames: string[]; editedMigrationNames: string[] };
    expect(status.history).toBeNull();
    expect(status.failedMigrationNames).toEqual([]);
    expect(status.editedMigrationNames).toEqual([]);
  });
});
