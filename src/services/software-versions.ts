import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";

const require = createRequire(import.meta.url);

/** Where a worker's sessions run: read when a metamer is written (after its sessions exist, so after any fallback). */
export interface ExecutionRuntime {
  /** The onnxruntime execution provider in use ("cpu", "cuda", ...): the engine's activeExecutionProvider. */
  executionProvider(): string;
}

/**
 * Stored with every metamer and statistic: what computed it (reproducibility is data, architecture.md). With a
 * runtime, also `executionProvider` and `device` (the CPU model, or the GPU's name from nvidia-smi): getters, read at
 * the moment the record is copied, because a worker that asked for CUDA may have fallen back to CPU by then.
 */
export function softwareVersions(serviceVersion: string, runtime?: ExecutionRuntime): Record<string, string> {
  let ort = "unknown";
  try {
    ort = (require("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    // A bundled deployment may not ship package.json files; the service version still pins it.
  }
  const versions: Record<string, string> = { node: process.version, "onnxruntime-node": ort, "metamer-hub": serviceVersion };
  if (!runtime) return versions;
  return Object.defineProperties(versions, {
    executionProvider: { enumerable: true, get: () => runtime.executionProvider() },
    device: { enumerable: true, get: () => deviceName(runtime.executionProvider()) },
  });
}

const devices = new Map<string, string>();

/** A human-readable name of what runs the provider's kernels; looked up once per provider. */
export function deviceName(provider: string): string {
  let name = devices.get(provider);
  if (name === undefined) {
    name = provider === "cuda" || provider === "tensorrt" ? gpuName() : (os.cpus()[0]?.model.trim() || "unknown CPU") + ` (${os.availableParallelism()} threads)`;
    devices.set(provider, name);
  }
  return name;
}

function gpuName(): string {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { timeout: 5000, encoding: "utf8" });
    return out.split("\n")[0].trim() || "unknown NVIDIA GPU";
  } catch {
    return "unknown NVIDIA GPU (nvidia-smi unavailable)";
  }
}
