import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PgConfig } from "./pg-config.js";

/** Repository root (src/store/ is two levels down), so the migration folder is found from any cwd. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const schemaPath = path.join(repoRoot, "prisma", "schema.prisma");
const migrationsDir = path.join(repoRoot, "prisma", "migrations");

interface WasmMigrator {
  deployMigrations(pg: PgConfig, o: { schemaPath: string; migrationsDir: string }): Promise<string[]>;
  migrationStatus(pg: PgConfig, o: { schemaPath: string; migrationsDir: string }): Promise<unknown>;
}

// scripts/prisma-wasm.mjs is plain JS shared with the `npm run db:*` commands; load it by path so the TypeScript
// build does not need to include scripts/.
const loadMigrator = async (): Promise<WasmMigrator> =>
  (await import(path.join(repoRoot, "scripts", "prisma-wasm.mjs"))) as WasmMigrator;

/** Applies pending migrations from prisma/migrations (≈ `prisma migrate deploy`); returns the names applied. */
export async function applyMigrations(pg: PgConfig): Promise<string[]> {
  return (await loadMigrator()).deployMigrations(pg, { schemaPath, migrationsDir });
}

export async function migrationStatus(pg: PgConfig): Promise<unknown> {
  return (await loadMigrator()).migrationStatus(pg, { schemaPath, migrationsDir });
}
