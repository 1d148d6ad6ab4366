// Drives Prisma's published schema engine (WebAssembly) directly, so migrations can be created and applied with no
// native engine binary and no network (docs/stack.md 6.9.2). Only scripts/migrate.mjs and src/store/migrate.ts use it.
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";

const require = createRequire(import.meta.url);
export const filters = { externalTables: [], externalEnums: [] };

// The wasm reports Rust panics through this global; without it a panic surfaces as "set_message of undefined".
globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
  message: "",
  set_message(m) {
    this.message = m;
  },
  get() {
    return this.message;
  },
};

let loaded; // instantiate ONCE per process: the wasm-bindgen glue caches views of the first instance's memory (docs/stack.md G15)
export function loadSchemaEngine() {
  return (loaded ??= instantiate());
}
async function instantiate() {
  const glue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasmFile = path.join(
    path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")),
    "schema_engine_bg.wasm",
  );
  const instance = new WebAssembly.Instance(new WebAssembly.Module(await readFile(wasmFile)), {
    "./schema_engine_bg.js": glue,
  });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return { SchemaEngine: glue.SchemaEngine, version: glue.version() };
}

// SchemaEngine.new() runs exactly one query (schema exists / version / server_version_num). Answering it statically
// is enough for schema->schema diffs, so SQL generation needs no database at all (docs/stack.md G16).
export function offlinePostgresFactory(serverVersionNum = 160000) {
  const fail = async () => {
    throw new Error("offline adapter");
  };
  const adapter = {
    provider: "postgres",
    adapterName: "offline-postgres",
    async queryRaw(q) {
      if (q.sql.includes("server_version_num"))
        return {
          columnNames: ["exists", "version", "numeric_version"],
          columnTypes: [5, 7, 0],
          rows: [[true, `PostgreSQL ${serverVersionNum / 10000}`, serverVersionNum]],
        };
      throw new Error(`offline adapter: unexpected query ${q.sql.slice(0, 80)}`);
    },
    executeRaw: fail,
    executeScript: fail,
    startTransaction: fail,
    async dispose() {},
    getConnectionInfo() {
      return { schemaName: "public", supportsRelationJoins: true };
    },
  };
  return { provider: "postgres", adapterName: "offline-postgres", connect: async () => adapter, connectToShadowDb: fail };
}

/** `prisma migrate diff --from-(empty|schema) --to-schema --script`, with no database and no native engine. */
export async function diffSchemas(fromText /* null = empty database */, toText) {
  const { SchemaEngine } = await loadSchemaEngine();
  const engine = await SchemaEngine.new(
    { datamodels: [["schema.prisma", toText]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(offlinePostgresFactory()),
  );
  try {
    const from =
      fromText == null ? { tag: "empty" } : { tag: "schemaDatamodel", files: [{ path: "from.prisma", content: fromText }] };
    const res = await engine.diff({
      from,
      to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: toText }] },
      script: true,
      exitCode: null,
      filters,
    });
    return res.stdout ?? "";
  } finally {
    engine.free();
  }
}

/** Reads prisma/migrations the way the CLI does (only <dir>/migration.sql and migration_lock.toml matter). */
export async function loadMigrationsList(baseDir) {
  const dirs = existsSync(baseDir)
    ? (await readdir(baseDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  const lock = path.join(baseDir, "migration_lock.toml");
  return {
    baseDir,
    shadowDbInitScript: "",
    lockfile: { path: "migration_lock.toml", content: existsSync(lock) ? await readFile(lock, "utf8") : null },
    migrationDirectories: await Promise.all(
      dirs.map(async (d) => ({
        path: d,
        migrationFile: {
          path: "migration.sql",
          content: { tag: "ok", value: await readFile(path.join(baseDir, d, "migration.sql"), "utf8") },
        },
      })),
    ),
  };
}

/** Engine connected to a real database. pgConfig: discrete host/port/user/password/database (never a URL: docs/stack.md G17). */
export async function withEngine(pgConfig, schemaText, fn) {
  const { SchemaEngine } = await loadSchemaEngine();
  const engine = await SchemaEngine.new(
    { datamodels: [["schema.prisma", schemaText]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(new PrismaPg(pgConfig)),
  );
  try {
    return await fn(engine);
  } finally {
    engine.free();
  }
}

/** Applies every migration folder not yet applied (≈ `prisma migrate deploy`); returns the applied names. */
export async function deployMigrations(pgConfig, { schemaPath, migrationsDir }) {
  const schemaText = await readFile(schemaPath, "utf8");
  return withEngine(pgConfig, schemaText, async (engine) => {
    const res = await engine.applyMigrations({ migrationsList: await loadMigrationsList(migrationsDir), filters });
    return res.appliedMigrationNames;
  });
}

/** ≈ `prisma migrate status` without drift detection. */
export async function migrationStatus(pgConfig, { schemaPath, migrationsDir }) {
  const schemaText = await readFile(schemaPath, "utf8");
  const migrationsList = await loadMigrationsList(migrationsDir);
  return withEngine(pgConfig, schemaText, (engine) =>
    engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters }),
  );
}

/** Parses a postgres:// URL into the discrete config adapter-pg needs. */
export function pgConfigFromUrl(url) {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres",
  };
}
