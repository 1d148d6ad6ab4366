// Entry point of one statistics thread (src/services/stats-pool.ts): runs one task per message and answers with its
// result or its error. Pure computation only; the thread has no database or network access.
import { readlinkSync } from "node:fs";
import os from "node:os";
import { parentPort } from "node:worker_threads";
import { runStatsTask, type StatsTaskName } from "./metrics/stats-tasks.js";

if (!parentPort) throw new Error("stats-worker: must run as a worker thread");

// Statistics yield the CPU to the event loop (and PostgreSQL) when cores are short: on Linux a thread has its own
// niceness, set through its thread id (/proc/thread-self -> <pid>/task/<tid>). Elsewhere the thread keeps the default.
const STATS_NICENESS = 10;
try {
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, STATS_NICENESS);
} catch {
  // not Linux, or not permitted: run at normal priority
}
const port = parentPort;

port.on("message", (message: { id: number; name: StatsTaskName; input: never }) => {
  try {
    const result = runStatsTask(message.name, message.input);
    port.postMessage({ id: message.id, ok: true, result });
  } catch (e) {
    const error = e instanceof Error ? { name: e.name, message: e.message } : { name: "Error", message: String(e) };
    port.postMessage({ id: message.id, ok: false, error });
  }
});

port.postMessage({ ready: true });
