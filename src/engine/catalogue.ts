// The layer catalogue the model registry stores: every floating-point tensor computed from the input, with its
// static shape (from one probe run), producer op, topological position and whether an input gradient exists.
import { checkDifferentiable, ruleLimitations, activeTensors, type UnsupportedOp } from "./autodiff/backward.js";
import { decodeOnnxModel, type ModelSummary } from "./onnx/model.js";
import { checkStaticMemory } from "./onnx/static-shapes.js";
import { probeModel } from "./runtime/probe.js";

export interface LayerInfo {
  /** the tensor name (a stage is always a tensor name) */
  name: string;
  /** static shape at the model's declared batch size */
  shape: number[];
  producerOp: string;
  /** index of the producing node in topological order */
  order: number;
  differentiable: boolean;
  unsupportedOps: UnsupportedOp[];
}

export interface InspectOptions {
  /** refuse (UNSUPPORTED_MODEL) before running when statically known tensors exceed this many bytes */
  staticBudgetBytes?: number;
}

/**
 * Runs the model once in this process: call it directly only for trusted files (the CLI on a lab's own model);
 * the registry goes through ModelInspector (runtime/isolated.ts), which runs this in a limited child process.
 */
export async function inspectModel(bytes: Uint8Array, options: InspectOptions = {}): Promise<{ summary: ModelSummary; layers: LayerInfo[] }> {
  const model = decodeOnnxModel(bytes);
  if (options.staticBudgetBytes !== undefined) checkStaticMemory(model, options.staticBudgetBytes);
  const probe = await probeModel(model);
  const active = activeTensors(model, probe.dataTypes);
  const limitations = ruleLimitations(model, probe);
  const layers: LayerInfo[] = [];
  const seen = new Set<string>();
  for (const node of model.nodes) {
    for (const name of node.outputs) {
      // Layers are tensors computed from the input; weights passed through Identity/Constant are not layers.
      if (!name || seen.has(name) || !active.has(name) || !probe.shapes.has(name)) continue;
      seen.add(name);
      const unsupportedOps = checkDifferentiable(model, name, { dataTypes: probe.dataTypes, limitations });
      layers.push({
        name,
        shape: probe.shapes.get(name)!,
        producerOp: node.opType,
        order: node.index,
        differentiable: unsupportedOps.length === 0,
        unsupportedOps,
      });
    }
  }
  return { summary: model.summary(), layers };
}
