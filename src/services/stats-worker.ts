// Entry point of one statistics process (src/services/stats-pool.ts): runs one task per message and answers with its
// result or its error. Pure computation only; the process has no database or network access.
import os from "node:os";
import { runStatsTask, type StatsTaskName } from "./metrics/stats-tasks.js";

if (!process.send) throw new Error("stats-worker: must run as a child process of the statistics pool");
const send = process.send.bind(process);

// Statistics yield the CPU to the event loop (and PostgreSQL) when cores are short.
const STATS_NICENESS = 10;
try {
  os.setPriority(STATS_NICENESS);
} catch {
  // not permitted: run at normal priority
}
// The pool's process is gone (killed, crashed): nothing will read our answers.
process.on("disconnect", () => process.exit(0));

process.on("message", (message: { id: number; name: StatsTaskName; input: never }) => {
  try {
    const result = runStatsTask(message.name, message.input);
    send({ id: message.id, ok: true, result });
  } catch (e) {
    const error = e instanceof Error ? { name: e.name, message: e.message } : { name: "Error", message: String(e) };
    send({ id: message.id, ok: false, error });
  }
});

send({ ready: true });
