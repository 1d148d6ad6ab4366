// Inspection of untrusted models in a child process. A 319-byte Loop with 10^12 iterations runs
// forever inside onnxruntime, and a few hundred bytes can ask for gigabytes; neither may touch the server. The child
// (inspect-child.ts) runs with:
//   - a wall-clock limit per model: past it the child is SIGKILLed and the model refused;
//   - a memory limit on its resident set: worker_threads' resourceLimits only cover the V8 heap, not onnxruntime's
//     native allocations, so the parent reads the child's RSS (/proc/<pid>/statm) every 20 ms while a model runs and
//     SIGKILLs it past the limit (measured: an Expand to 20000x20000 without the static check is stopped at the
//     limit, overshooting by less than 0.2 GB). An address-space limit (`ulimit -v`) alone does not work: under the
//     SWC loader a child that has only loaded onnxruntime already maps 3.5-4.2 GB of virtual memory with 200 MB
//     resident, so RLIMIT_AS is set only as a backstop, the largest limit + 8 GiB;
//   - an empty working directory and a minimal environment, so that even a file reference the checks missed finds
//     nothing to read there.
// One child serves inspections one at a time (a queue), which also bounds how many run at once; it is reused while
// idle and replaced after a kill.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EngineError, type EngineErrorCode } from "../errors.js";
import type { InspectReply, InspectRequest } from "./inspect-child.js";

export interface InspectorLimits {
  /** wall-clock limit of one model's inspection, plus TIMEOUT_MS_PER_GIB for each GiB of the file */
  timeoutMs: number;
  /** resident-memory limit of the inspecting process (bytes), plus MEMORY_PER_MODEL_BYTE for each byte of the file */
  memoryBytes: number;
  /** the largest file the server accepts: sizes the address-space backstop for the largest allowance */
  maxModelBytes: number;
  /** refuse before running when statically known intermediate tensors exceed this (bytes) */
  staticBudgetBytes: number;
}

export type Inspection = Extract<InspectReply, { ok: true }>["value"];

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../..");
/** an idle child is stopped after this long, so a quiet server holds no onnxruntime process */
const IDLE_MS = 30_000;
const RSS_POLL_MS = 20;
/** the `ulimit -v` backstop sits this far above the largest RSS limit (see the header) */
const ADDRESS_SPACE_SLACK = 8 * 1024 ** 3;
/**
 * A real model's weights need room the base limits do not give: the child holds the file, its decoded initializers
 * and the outputs of the catalogue run (measured: 6.7 GB resident and about 60 s for a 1.5 GB file, 2.8 GB for vgg11's
 * 531 MB). The allowance grows with the file's size, so a large honest model registers while a tiny hostile one
 * (the 123-byte Expand, the 319-byte Loop) still meets the base limits.
 */
const MEMORY_PER_MODEL_BYTE = 4;
const TIMEOUT_MS_PER_GIB = 120_000;

/** The limits that apply to one file of `byteLength` bytes. */
export function limitsForModel(limits: InspectorLimits, byteLength: number): { timeoutMs: number; memoryBytes: number } {
  return {
    timeoutMs: Math.round(limits.timeoutMs + (TIMEOUT_MS_PER_GIB * byteLength) / 1024 ** 3),
    memoryBytes: limits.memoryBytes + MEMORY_PER_MODEL_BYTE * byteLength,
  };
}
/** a child is replaced after this many models (native memory fragmentation) */
const MAX_USES = 200;

interface Pending {
  id: number;
  bytes: Uint8Array;
  resolve: (v: Inspection) => void;
  reject: (e: unknown) => void;
}

export class ModelInspector {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private workdir: string | null = null;
  private uses = 0;
  private nextId = 0;
  private readonly queue: Pending[] = [];
  private running: Pending | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(readonly limits: InspectorLimits) {}

  /** The layer catalogue of `bytes`, computed in the child; UNSUPPORTED_MODEL past a limit. */
  inspect(bytes: Uint8Array): Promise<Inspection> {
    if (this.closed) return Promise.reject(new Error("the model inspector was closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.nextId, bytes, resolve, reject });
      this.pump();
    });
  }

  /** Process id of the current child (tests and operators). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error("the model inspector was closed"));
    this.kill();
  }

  private pump(): void {
    if (this.running || !this.queue.length) return;
    const job = this.queue.shift()!;
    this.running = job;
    if (this.idleTimer) (clearTimeout(this.idleTimer), (this.idleTimer = null));
    void this.run(job).then(
      (v) => this.finish(job, () => job.resolve(v)),
      (e) => this.finish(job, () => job.reject(e)),
    );
  }

  private finish(job: Pending, settle: () => void): void {
    settle();
    if (this.running === job) this.running = null;
    if (this.queue.length) this.pump();
    else if (this.child) {
      this.child.unref();
      (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
      this.idleTimer = setTimeout(() => this.kill(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private async run(job: Pending): Promise<Inspection> {
    if (!this.child || this.uses >= MAX_USES) {
      this.kill();
      this.spawn();
    }
    const child = this.child!;
    child.ref();
    (child.channel as { ref?: () => void } | undefined)?.ref?.();
    await this.ready;
    this.uses++;
    const { staticBudgetBytes } = this.limits;
    const { timeoutMs, memoryBytes } = limitsForModel(this.limits, job.bytes.byteLength);
    return new Promise<Inspection>((resolve, reject) => {
      const overMemory = (detail: string) =>
        new EngineError("UNSUPPORTED_MODEL", `shape discovery exceeded its memory limit of ${mib(memoryBytes)} MiB (${detail}); the model was refused`, {
          limitBytes: memoryBytes,
        });
      const watchdog = setInterval(() => {
        const rss = residentBytes(child.pid);
        if (rss !== null && rss > memoryBytes) {
          done();
          this.kill();
          reject(overMemory(`${mib(rss)} MiB resident`));
        }
      }, RSS_POLL_MS);
      const done = () => {
        clearInterval(watchdog);
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      const timer = setTimeout(() => {
        done();
        this.kill();
        reject(new EngineError("UNSUPPORTED_MODEL", `shape discovery exceeded ${seconds(timeoutMs)} s; the model was refused (it may loop or compute far too much)`, { limitMs: timeoutMs }));
      }, timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        done();
        this.child = null;
        // Killed by the kernel or aborted by a failed allocation: the only way a child stops on its own mid-model.
        reject(overMemory(`the inspecting process stopped: ${signal ?? `exit code ${code}`}`));
      };
      const onMessage = (m: InspectReply) => {
        if (m.type !== "result" || m.id !== job.id) return;
        done();
        if (m.ok) return resolve(m.value);
        const { code, message, details } = m.error;
        if (/alloc|out of memory/i.test(message)) {
          // An allocation failed inside onnxruntime (the address-space backstop); the child survived but may be
          // fragmented: start afresh next time.
          this.kill();
          return reject(overMemory(message));
        }
        if (code) return reject(new EngineError(code as EngineErrorCode, message, details ?? {}));
        // A plain error from the engine (a tensor type it does not read, ...): the file's fault, not the server's.
        const reported = new Error(message);
        reported.name = "InspectorReportedError";
        reject(reported);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send({ type: "inspect", id: job.id, bytes: job.bytes, staticBudgetBytes } satisfies InspectRequest);
    });
  }

  private spawn(): void {
    const ts = import.meta.url.endsWith(".ts");
    const entry = path.join(here, ts ? "inspect-child.ts" : "inspect-child.js");
    // Development runs (TypeScript sources) load the SWC hooks by absolute URL: @swc-node/register's own
    // esm-register resolves itself from the working directory, which here is an empty one.
    const hooks = path.join(repoRoot, "node_modules/@swc-node/register/esm/esm.mjs");
    if (ts && !existsSync(hooks)) throw new Error(`cannot start the model inspector: ${hooks} is missing`);
    const register = `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
    this.workdir = mkdtempSync(path.join(os.tmpdir(), "metamers-inspect-"));
    const nodeArgs = [...(ts ? ["--import", `data:text/javascript,${encodeURIComponent(register)}`] : []), entry];
    const kib = Math.floor((limitsForModel(this.limits, this.limits.maxModelBytes).memoryBytes + ADDRESS_SPACE_SLACK) / 1024);
    // `ulimit -v` then exec: the limit applies to node itself and everything it loads, from the first instruction.
    const child = fork(entry, [], {
      cwd: this.workdir,
      execPath: "/bin/sh",
      execArgv: ["-c", `ulimit -v ${kib} && exec "$0" "$@"`, process.execPath, ...nodeArgs.slice(0, -1)],
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        // glibc reserves an arena of address space per thread; two keep the child's footprint predictable.
        MALLOC_ARENA_MAX: "2",
        ...(ts ? { SWC_NODE_PROJECT: path.join(repoRoot, "tsconfig.json") } : {}),
      },
      // onnxruntime logs a refused model's errors to stderr; the outcome travels over IPC, the noise is dropped.
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      serialization: "advanced",
    });
    this.child = child;
    this.uses = 0;
    // A server that exits (SIGTERM, an error) takes a busy child with it; the child's own watcher covers SIGKILL.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: InspectReply) => {
        if (m.type === "ready") (child.off("message", onMessage), child.off("exit", onExit), resolve());
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`the model inspector process did not start (${signal ?? `exit code ${code}`}); memory limit ${mib(this.limits.memoryBytes)} MiB`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
    this.ready.catch(() => undefined);
    const dir = this.workdir;
    child.once("exit", () => {
      rmSync(dir, { recursive: true, force: true });
      if (this.child === child) this.child = null;
    });
  }

  private kill(): void {
    if (this.idleTimer) (clearTimeout(this.idleTimer), (this.idleTimer = null));
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

const PAGE_BYTES = 4096;
/** Resident bytes of a process from /proc (Linux); null where /proc is not available. */
function residentBytes(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE_BYTES;
  } catch {
    return null;
  }
}

const seconds = (ms: number) => (ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(1));
const mib = (b: number) => Math.round(b / (1024 * 1024));
