// The only import of onnxruntime-node in the project. Session settings follow docs/autodiff.md: level "all" (NCHWc
// layout transform), sequential execution, one inter-op thread.
import type * as Ort from "onnxruntime-node";
import { publicOrtError } from "./ort-errors.js";

export type OrtSession = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

let ort: typeof Ort | null = null;

/**
 * onnxruntime-node, loaded by the first session rather than on import: every caller reaches the engine through
 * src/engine/index.ts, and the processes that never run a model (the API process, which inspects models in a child
 * process; its statistics and audio threads) should not load the native library.
 */
async function loadOrt(): Promise<typeof Ort> {
  ort ??= await import("onnxruntime-node");
  return ort;
}

let executionProviders: string[] | undefined;
let onFallback: ((fallback: ExecutionProviderFallback) => void) | undefined;

/** What `useExecutionProviders`' listener hears when the requested providers could not create a session. */
export interface ExecutionProviderFallback {
  requested: string[];
  /** What sessions use from then on. */
  using: string[];
  /** onnxruntime's message (paths stripped), e.g. "... Failed to load shared library" when CUDA is absent. */
  reason: string;
}

/**
 * Execution providers for sessions created from now on, e.g. ["cuda", "cpu"] on a GPU host (the GPU worker image
 * ships onnxruntime's CUDA binaries); undefined = onnxruntime's default (CPU). Set once at start-up by the process's
 * composition code (the engine reads no environment). When a session cannot be created with them but can on CPU (no
 * CUDA library, no device), the engine falls back to CPU for good and tells `options.onFallback` once, so the caller
 * can log a warning; the provider in use is `activeExecutionProvider()`.
 */
export function useExecutionProviders(providers: string[] | undefined, options: { onFallback?: (fallback: ExecutionProviderFallback) => void } = {}): void {
  executionProviders = providers?.length ? [...providers] : undefined;
  onFallback = options.onFallback;
}

/** The provider that runs the sessions created now: the first configured one, or "cpu" (default, or after a fallback). */
export function activeExecutionProvider(): string {
  return executionProviders?.[0] ?? "cpu";
}

function sessionOptions(threads: number, providers: string[] | undefined): Ort.InferenceSession.SessionOptions {
  return {
    ...(providers ? { executionProviders: providers } : {}),
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  };
}

/**
 * Always from memory: `bytes` are the engine's own encoding of a checked ModelProto (no external data, no fields the
 * check did not see), never a path, so onnxruntime has no model directory to resolve files against.
 */
export async function createSession(bytes: Uint8Array, threads: number): Promise<OrtSession> {
  const loaded = await loadOrt();
  const requested = executionProviders;
  try {
    return await loaded.InferenceSession.create(bytes, sessionOptions(threads, requested));
  } catch (e) {
    if (!requested || requested.every((p) => p === "cpu")) throw publicOrtError(e);
    // The requested providers failed. If CPU succeeds, the provider was the problem (not the model): use CPU from
    // now on. If CPU fails too, it is the model's error, reported as such, and the providers stay as they are.
    let session: OrtSession;
    try {
      session = await loaded.InferenceSession.create(bytes, sessionOptions(threads, ["cpu"]));
    } catch {
      throw publicOrtError(e);
    }
    if (executionProviders === requested) {
      executionProviders = ["cpu"];
      onFallback?.({ requested: [...requested], using: ["cpu"], reason: publicOrtError(e).message });
    }
    return session;
  }
}

/** session.run with onnxruntime's message stripped of absolute paths. */
export async function runSession(
  session: OrtSession,
  feeds: Record<string, OrtTensor>,
  fetches?: Record<string, OrtTensor | null>,
): Promise<Record<string, OrtTensor>> {
  try {
    return (await (fetches ? session.run(feeds, fetches) : session.run(feeds))) as Record<string, OrtTensor>;
  } catch (e) {
    throw publicOrtError(e);
  }
}

/** A float32 tensor for a session's run (so onnxruntime is loaded: a session exists). */
export function floatTensor(data: Float32Array, dims: readonly number[]): OrtTensor {
  if (!ort) throw new Error("floatTensor: onnxruntime-node is not loaded yet; tensors are made for a session created first");
  return new ort.Tensor("float32", data, dims);
}
