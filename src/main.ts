// `npm start`: the whole service on one machine. Embedded PostgreSQL under METAMERS_DATA_DIR (or DATABASE_URL),
// migrations on start, a local group and admin key on first start, GraphQL at http://HOST:PORT/graphql.
import "reflect-metadata";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { openLocalDatabase } from "./store/local.js";
import { startDispatcher } from "./dispatch/start.js";
// The files the CLI and the demo read to find this server and its key.
import { API_KEY_FILE, SERVER_FILE } from "./cli/local-server.js";


/**
 * What has been started so far, stopped in reverse order on shutdown or when a later startup step fails: a failed
 * start must not leave PostgreSQL or worker processes behind.
 */
const running: { name: string; stop: () => Promise<void> }[] = [];

async function stopAll(): Promise<void> {
  for (let step = running.pop(); step; step = running.pop()) {
    await step.stop().catch((e: unknown) => {
      throw new Error(`stopping the ${step!.name} failed: ${e instanceof Error ? e.message : e}`);
    });
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const started = performance.now();
  // The data dir also holds the key and runtime files when the database is external.
  await mkdir(config.dataDir, { recursive: true });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    try {
      await stopAll();
      log.info({ signal }, "stopped cleanly");
      process.exit(0);
    } catch (e) {
      log.error({ err: e, signal }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  // Load the app's modules (GraphQL, services: the slow part of a start) while PostgreSQL starts in its own process.
  const appModule = import("./app.js");
  appModule.catch(() => {}); // reported where it is awaited
  const db = await openLocalDatabase({
    dataDir: config.dataDir,
    external: config.externalDatabase,
    log: (line) => log.debug({ postgres: line }, "postgres"),
    notice: (message) => log.warn({ event: "postgres.notice" }, message),
  });
  running.push({ name: "database", stop: () => db.stop() });
  log.info(
    { database: db.kind, host: db.config.host, port: db.config.port, name: db.config.database, migrationsApplied: db.applied },
    db.kind === "external" ? "using the PostgreSQL from DATABASE_URL" : `embedded PostgreSQL data in ${path.join(config.dataDir, "postgres")}`,
  );

  const { createApp } = await appModule;
  const app = await createApp(config, { database: db.config, log });
  running.push({ name: "app", stop: () => app.close() });

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
  // Unreferenced blobs (deleted objects) and expired uploads, at most hourly (src/services/blob-sweep.ts).
  app.onClose(app.services.blobSweep.schedule(log));

  const url = await app.listen().catch((e: NodeJS.ErrnoException) => {
    if (e.code === "EADDRINUSE") {
      throw new Error(`port ${config.port} on ${config.host} is already in use (set PORT, or stop what listens there)`);
    }
    throw e;
  });
  const serverFile = path.join(config.dataDir, SERVER_FILE);
  await writeFile(serverFile, JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
  // Removed before the app closes: from then on nobody should find this server.
  running.push({ name: "server file", stop: () => rm(serverFile, { force: true }) });
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
}

main().catch(async (e) => {
  // Startup failures are printed plainly: there may be no logger yet (bad configuration).
  console.error(`metamers: failed to start: ${e instanceof Error ? e.message : e}`);
  await stopAll().catch((stopError: unknown) => console.error(`metamers: cleanup after the failed start also failed: ${stopError}`));
  process.exit(1);
});
