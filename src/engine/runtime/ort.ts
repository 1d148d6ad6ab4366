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

/**
 * Execution providers for sessions created from now on, e.g. ["cuda", "cpu"] on a GPU host (the synthesis Lambda
 * image ships onnxruntime's CUDA binaries); undefined = onnxruntime's default (CPU). Set once at start-up by the
 * process's composition code (the engine reads no environment).
 */
export function useExecutionProviders(providers: string[] | undefined): void {
  executionProviders = providers?.length ? [...providers] : undefined;
}

/**
 * Always from memory: `bytes` are the engine's own encoding of a checked ModelProto (no external data, no fields the
 * check did not see), never a path, so onnxruntime has no model directory to resolve files against.
 */
export async function createSession(bytes: Uint8Array, threads: number): Promise<OrtSession> {
  try {
    return await (await loadOrt()).InferenceSession.create(bytes, {
      ...(executionProviders ? { executionProviders } : {}),
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw publicOrtError(e);
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
