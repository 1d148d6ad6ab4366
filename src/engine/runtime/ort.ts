// The only import of onnxruntime-node in the project. Session settings follow docs/autodiff.md: level "all" (NCHWc
// layout transform), sequential execution, one inter-op thread.
import * as ortModule from "onnxruntime-node";

export const ort = ortModule;
export type OrtSession = ortModule.InferenceSession;
export type OrtTensor = ortModule.Tensor;

let executionProviders: string[] | undefined;

/**
 * Execution providers for sessions created from now on, e.g. ["cuda", "cpu"] on a GPU host (the synthesis Lambda
 * image ships onnxruntime's CUDA binaries); undefined = onnxruntime's default (CPU). Set once at start-up by the
 * process's composition code (the engine reads no environment).
 */
export function useExecutionProviders(providers: string[] | undefined): void {
  executionProviders = providers?.length ? [...providers] : undefined;
}

export async function createSession(bytes: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(bytes, {
    ...(executionProviders ? { executionProviders } : {}),
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
}

export function floatTensor(data: Float32Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor("float32", data, dims);
}
