// Runs audio conversion on a worker thread so that decoding and resampling never hold the event loop. One thread,
// started on first use and kept while there is work; conversions queue on it in order.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { AppError, type ErrorCode } from "../errors.js";
import type { StimulusLimits, TensorSpec } from "../engine/index.js";
import type { AudioJob, AudioReply } from "./stimuli-worker.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve: (t: Float32Array) => void; reject: (e: unknown) => void }>();

function start(): Worker {
  const ts = import.meta.url.endsWith(".ts");
  // Development runs load the SWC hooks by absolute URL (the same as the model inspector does).
  const hooks = pathToFileURL(path.join(repoRoot, "node_modules/@swc-node/register/esm/esm.mjs")).href;
  const register = `import { register } from "node:module"; register(${JSON.stringify(hooks)});`;
  const w = new Worker(path.join(here, ts ? "stimuli-worker.ts" : "stimuli-worker.js"), {
    execArgv: ts ? ["--import", `data:text/javascript,${encodeURIComponent(register)}`] : [],
  });
  w.on("message", (m: AudioReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (!pending.size) w.unref();
    if (m.ok) p.resolve(m.tensor);
    else if (m.code) p.reject(new AppError(m.code as ErrorCode, m.message, m.details ?? {}));
    else p.reject(new Error(m.message));
  });
  const fail = (e: unknown) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(e instanceof Error ? e : new Error(`the audio worker stopped: ${String(e)}`));
    pending.clear();
  };
  w.on("error", fail);
  w.on("exit", (code) => fail(new Error(`the audio worker exited with code ${code}`)));
  return w;
}

/** audioToTensor on the worker thread: the same result and the same errors, without blocking this thread. */
export function audioToTensorOffThread(bytes: Uint8Array, spec: TensorSpec, where: string, limits: StimulusLimits): Promise<Float32Array> {
  worker ??= start();
  const w = worker;
  w.ref();
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // The bytes are copied (structured clone): the caller keeps its file to store it.
    w.postMessage({ id, bytes, spec, where, limits } satisfies AudioJob);
  });
}
