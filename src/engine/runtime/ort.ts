// The only import of onnxruntime-node in the project. Session settings follow docs/autodiff.md: level "all" (NCHWc
// layout transform), sequential execution, one inter-op thread.
import * as ortModule from "onnxruntime-node";

export const ort = ortModule;
export type OrtSession = ortModule.InferenceSession;
export type OrtTensor = ortModule.Tensor;

export async function createSession(bytes: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(bytes, {
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
