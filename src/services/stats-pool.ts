import path from "node:path";
import { fileURLToPath } from "node:url";
import { fork, type ChildProcess } from "node:child_process";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { runStatsTask, type StatsTaskName, type StatsTasks } from "./metrics/stats-tasks.js";

/**
 * Runs statistics (bootstraps, permutation tests) off the event loop, so a long statistic never delays other
 * requests (ten permutation tests held `health` for 8.4 s). A few child processes each run one task
 * at a time; tasks wait in a bounded FIFO queue, and a full queue refuses with RATE_LIMITED instead of growing.
 * Processes start on first use. A task that runs past `timeoutMs`, or a process that dies (e.g. past its heap limit),
 * fails only that task; the process is replaced.
 */
export interface StatsRunner {
  /**
   * Runs one task. `owner` names who asked (an API key id): waiting tasks are taken from their owners in turn, so one
   * caller's flood of statistics delays another caller's by at most one task per process.
   */
  run<K extends StatsTaskName>(name: K, input: StatsTasks[K]["input"], owner?: string): Promise<StatsTasks[K]["output"]>;
}

export interface StatsPoolOptions {
  /** Statistics processes (METAMERS_STATS_THREADS, default 2). */
  threads: number;
  /** Tasks allowed to wait for a thread (METAMERS_STATS_QUEUE); beyond that, RATE_LIMITED. */
  maxQueue: number;
  /** Tasks one owner may have waiting (default: maxQueue); beyond that, RATE_LIMITED. */
  maxQueuePerOwner?: number;
  /** Wall-clock limit of one task (METAMERS_STATS_TIMEOUT_MS). */
  timeoutMs: number;
  /** Heap limit of each thread, MiB. */
  maxHeapMb?: number;
  log?: Logger;
}

interface Task {
  id: number;
  owner: string;
  name: StatsTaskName;
  input: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * One statistics process. Processes, not worker threads: terminating a worker thread that had loaded the SWC
 * TypeScript hooks (every development and test run) sometimes crashed the whole process with a segfault, and a
 * killed process takes nothing else down with it. Its V8 heap is capped by --max-old-space-size.
 */
class StatsProcess {
  private readonly child: ChildProcess;
  constructor(entry: string, execArgv: string[], env: NodeJS.ProcessEnv) {
    // "advanced" serialization passes typed arrays and nested arrays as structured clones, as postMessage did.
    this.child = fork(entry, [], { execArgv, env, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  }
  on(event: "message" | "error" | "exit", listener: (...args: never[]) => void): void {
    this.child.on(event, listener as (...args: unknown[]) => void);
  }
  postMessage(message: unknown): void {
    this.child.send(message as object);
  }
  ref(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }
  unref(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }
  terminate(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }
}

interface Slot {
  worker: StatsProcess;
  /** False until the thread has loaded its code (its start-up does not count against a task's time). */
  ready: boolean;
  task: Task | null;
  timer: NodeJS.Timeout | null;
}

type Reply =
  | { ready: true }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string } };

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");

/**
 * Waiting tasks, one FIFO per owner. The next task is the oldest of the owner served least recently (an owner never
 * served goes first), skipping owners already running their share of the processes. So a caller who floods the
 * pool is served only when nobody else waits, and never holds every process: one caller's flood delays another's
 * statistic by at most the run of another waiting caller's task (issue 10's load test: a 1,000-resample bootstrap
 * waited 17 s behind one key's queue of the largest permutation tests).
 */
class FairQueue {
  private readonly byOwner = new Map<string, Task[]>();
  /** When each owner was last given a process (a counter, not a clock); bounded like the rate limiter's buckets. */
  private readonly lastServed = new Map<string, number>();
  private served = 0;
  length = 0;

  waiting(owner: string): number {
    return this.byOwner.get(owner)?.length ?? 0;
  }

  push(task: Task): void {
    const own = this.byOwner.get(task.owner);
    if (own) own.push(task);
    else this.byOwner.set(task.owner, [task]);
    this.length++;
  }

  /** The next task to run, or undefined when every waiting owner is at its limit (`running(owner) >= maxRunning`). */
  shift(running: (owner: string) => number, maxRunning: number): Task | undefined {
    let pick: string | undefined;
    let pickServed = Infinity;
    for (const owner of this.byOwner.keys()) {
      if (running(owner) >= maxRunning) continue;
      const at = this.lastServed.get(owner) ?? -1;
      if (at < pickServed) {
        pick = owner;
        pickServed = at;
      }
    }
    if (pick === undefined) return undefined;
    const tasks = this.byOwner.get(pick)!;
    const task = tasks.shift()!;
    if (!tasks.length) this.byOwner.delete(pick);
    this.length--;
    this.lastServed.delete(pick);
    this.lastServed.set(pick, ++this.served);
    if (this.lastServed.size > 10_000) this.lastServed.delete(this.lastServed.keys().next().value!);
    return task;
  }

  drain(): Task[] {
    const all = [...this.byOwner.values()].flat();
    this.byOwner.clear();
    this.length = 0;
    return all;
  }
}

export class StatsPool implements StatsRunner {
  private readonly slots: Slot[] = [];
  private readonly queue = new FairQueue();
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: StatsPoolOptions) {
    if (!(options.threads >= 1)) throw new RangeError(`StatsPool: threads must be >= 1, got ${options.threads}`);
  }

  /** Threads started, tasks running and tasks waiting (for tests and the load benchmark). */
  get state() {
    return { threads: this.slots.length, running: this.slots.filter((s) => s.task).length, queued: this.queue.length };
  }

  run<K extends StatsTaskName>(name: K, input: StatsTasks[K]["input"], owner = "anonymous"): Promise<StatsTasks[K]["output"]> {
    if (this.closed) return Promise.reject(new Error("StatsPool: closed"));
    // Tasks about to start (a thread is free or starting) do not count as waiting.
    const running = this.slots.filter((s) => s.task).length;
    const free = this.options.threads - running;
    const perOwner = this.options.maxQueuePerOwner ?? this.options.maxQueue;
    const full = (message: string) => Promise.reject(new AppError("RATE_LIMITED", `statistics: ${message}; retry later`, { retryAfterSeconds: 1 }));
    if (this.queue.length >= this.options.maxQueue + free) {
      return full(`${this.queue.length} queries are already waiting for the ${this.options.threads} statistics processes (at most ${this.options.maxQueue} may wait)`);
    }
    if (this.queue.waiting(owner) >= perOwner + free) {
      return full(`${this.queue.waiting(owner)} of your queries are already waiting (at most ${perOwner} per API key)`);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: ++this.nextId, owner, name, input, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.drain()) task.reject(new Error("StatsPool: closed"));
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        slot.task?.reject(new Error("StatsPool: closed"));
        return slot.worker.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && !s.task);
      if (!slot) {
        // Start threads up to the limit (at most one per waiting task); they take the queue once ready.
        const starting = this.slots.filter((s) => !s.ready).length;
        if (this.slots.length < this.options.threads && starting < this.queue.length) this.spawn();
        return;
      }
      // One owner runs on at most all processes but one (when there are several), so another caller always finds one.
      const maxRunning = Math.max(1, this.options.threads - 1);
      const task = this.queue.shift((owner) => this.slots.filter((s) => s.task?.owner === owner).length, maxRunning);
      if (!task) return;
      this.start(slot, task);
    }
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref(); // a waiting caller keeps the process alive; idle threads do not
    slot.timer = setTimeout(() => {
      this.options.log?.warn({ event: "stats.timeout", task: task.name, ms: this.options.timeoutMs }, "statistics task timed out; replacing its thread");
      this.retire(slot, new Error(`statistics task '${task.name}' exceeded ${this.options.timeoutMs} ms`));
    }, this.options.timeoutMs);
    slot.worker.postMessage({ id: task.id, name: task.name, input: task.input });
  }

  private finish(slot: Slot, reply: Reply): void {
    if ("ready" in reply) {
      slot.ready = true;
      this.pump();
      return;
    }
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.task = null;
    slot.timer = null;
    slot.worker.unref();
    if (reply.ok) task.resolve(reply.result);
    else task.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    this.pump();
  }

  /** Fails the slot's task, terminates its thread and lets a new one take the queue. */
  private retire(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    if (slot.timer) clearTimeout(slot.timer);
    const task = slot.task;
    slot.task = null;
    void slot.worker.terminate();
    task?.reject(error);
    if (!this.closed) this.pump();
  }

  private spawn(): Slot {
    // Under vitest and `node --import @swc-node/register` this module is TypeScript; the thread then loads its entry
    // through the same register hook (from the repository root, where tsconfig.json is), like the job workers do.
    const ts = import.meta.url.endsWith(".ts");
    const entry = path.join(here, ts ? "stats-worker.ts" : "stats-worker.js");
    const heap = `--max-old-space-size=${this.options.maxHeapMb ?? 512}`;
    const worker = new StatsProcess(entry, ts ? ["--import", "@swc-node/register/esm-register", heap] : [heap], {
      ...process.env,
      TS_NODE_PROJECT: path.join(repoRoot, "tsconfig.json"),
    });
    const slot: Slot = { worker, ready: false, task: null, timer: null };
    worker.unref();
    worker.on("message", (reply: Reply) => this.finish(slot, reply));
    worker.on("error", (e: Error) => {
      this.options.log?.error({ err: e, event: "stats.worker_error" }, "statistics thread failed");
      this.retire(slot, new Error(`statistics thread failed: ${e.message}`));
    });
    worker.on("exit", (code: number | null) => {
      if (this.slots.includes(slot)) this.retire(slot, new Error(`statistics thread exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }
}

/** Runs tasks on the calling thread: for scripts and tests that construct a service without a pool. */
export const inlineStatsRunner: StatsRunner = {
  async run(name, input) {
    return runStatsTask(name, input);
  },
};
