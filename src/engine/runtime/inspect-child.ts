// The process that inspects untrusted models: decoding, the static memory check, the shape
// discovery run (every tensor an output) and the catalogue. It is started by ModelInspector (isolated.ts) with an
// address-space limit, an empty working directory and a minimal environment, and killed when a run takes too long.
import { rmSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { EngineError } from "../errors.js";
import { inspectModel } from "../catalogue.js";

export type InspectRequest = { type: "inspect"; id: number; bytes: Uint8Array; staticBudgetBytes: number };
export type InspectReply =
  | { type: "ready" }
  | { type: "result"; id: number; ok: true; value: Awaited<ReturnType<typeof inspectModel>> }
  | { type: "result"; id: number; ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } };

const send = (m: InspectReply) => process.send!(m);

process.on("message", (m: InspectRequest) => {
  if (m?.type !== "inspect") return;
  void inspectModel(m.bytes, { staticBudgetBytes: m.staticBudgetBytes }).then(
    (value) => send({ type: "result", id: m.id, ok: true, value }),
    (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof EngineError) send({ type: "result", id: m.id, ok: false, error: { code: e.code, message, details: e.details } });
      else send({ type: "result", id: m.id, ok: false, error: { message } });
    },
  );
});
// The parent went away: nothing is left to answer to. Its empty working directory goes with it (the parent removes
// it when it sees the exit, but a parent that exits first never does).
process.on("disconnect", () => {
  const dir = process.cwd();
  if (path.basename(dir).startsWith("metamers-inspect-")) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
// While onnxruntime runs a model this thread may never get back to its event loop, so 'disconnect' alone cannot end
// an orphan (a killed server left a Loop of 10^12 iterations burning a core). A watcher thread notices the parent
// is gone (re-parented) and kills the process.
const watcher = new Worker(
  `const { workerData } = require("node:worker_threads");
   const { rmSync } = require("node:fs");
   setInterval(() => {
     if (process.ppid === workerData) return;
     if (/metamers-inspect-[^/]*$/.test(process.cwd())) rmSync(process.cwd(), { recursive: true, force: true });
     process.kill(process.pid, "SIGKILL");
   }, 500);`,
  { eval: true, workerData: process.ppid },
);
watcher.unref();
send({ type: "ready" });
