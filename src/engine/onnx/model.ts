// The decoded forward model: nodes in topological order, initializers, producers/consumers, opsets and the one
// float input the service supports. Validation errors carry the public codes (INVALID_ONNX, UNSUPPORTED_MODEL).
import { createHash } from "node:crypto";
import type { onnx as O } from "onnx-proto";
import { EngineError } from "../errors.js";
import { attrTensor } from "./attributes.js";
import { assertSelfContained } from "./external-data.js";
import { DataType, dataTypeName, onnx, toNumber } from "./proto.js";
import { decodeTensor, type TensorValue } from "./tensor.js";

export interface NodeView {
  /** position in topological order */
  index: number;
  /** the node's name, or a generated `<op_type>_<index>` when the export left it empty */
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  proto: O.INodeProto;
}

export interface ModelSummary {
  /** opset of the default ("" / ai.onnx) domain */
  opset: number;
  opsets: Record<string, number>;
  inputName: string;
  inputShape: number[];
  outputNames: string[];
  nodeCount: number;
}

export class OnnxModel {
  readonly nodes: NodeView[];
  readonly initializers = new Map<string, O.ITensorProto>();
  readonly producer = new Map<string, NodeView>();
  readonly consumers = new Map<string, NodeView[]>();
  readonly opsets: Record<string, number> = {};
  readonly opset: number;
  readonly inputName: string;
  readonly inputShape: number[];
  readonly outputNames: string[];
  private readonly constCache = new Map<string, TensorValue | null>();
  private shaCache: string | null = null;

  constructor(
    readonly proto: O.ModelProto,
    private readonly bytes: Uint8Array | null,
  ) {
    const graph = proto.graph!;
    for (const op of proto.opsetImport ?? []) this.opsets[op.domain || ""] = toNumber(op.version);
    this.opset = this.opsets[""] ?? this.opsets["ai.onnx"] ?? 0;
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? "", t);

    const inputs = (graph.input ?? []).filter((vi) => !this.initializers.has(vi.name ?? ""));
    if (inputs.length !== 1) {
      throw new EngineError(
        "UNSUPPORTED_MODEL",
        `expected a model with exactly one input tensor, found ${inputs.length}` +
          (inputs.length ? `: ${inputs.map((i) => `'${i.name}'`).join(", ")}` : ""),
      );
    }
    const input = inputs[0];
    this.inputName = input.name ?? "";
    const tensorType = input.type?.tensorType;
    const elemType = tensorType?.elemType ?? DataType.UNDEFINED;
    if (elemType !== DataType.FLOAT) {
      throw new EngineError(
        "UNSUPPORTED_MODEL",
        `input '${this.inputName}' must be a float32 tensor; it has element type ${dataTypeName(elemType)}`,
      );
    }
    const dims = tensorType?.shape?.dim ?? [];
    const shape = dims.map((d) => (d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : -1));
    if (!tensorType?.shape || shape.some((d) => d < 0)) {
      const shown = tensorType?.shape ? dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : "?")) : "unknown";
      throw new EngineError(
        "UNSUPPORTED_MODEL",
        `input '${this.inputName}' must have a static shape (every dimension a positive number); it has [${shown}]. ` +
          `Export with fixed sizes (no dynamic_axes)`,
      );
    }
    this.inputShape = shape;
    this.outputNames = (graph.output ?? []).map((o) => o.name ?? "");
    this.nodes = topologicalOrder(graph, new Set([this.inputName, ...this.initializers.keys()]));
    for (const n of this.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(n);
        else this.consumers.set(i, [n]);
      }
    }
  }

  get sha256(): string {
    if (!this.shaCache) {
      const bytes = this.bytes ?? onnx.ModelProto.encode(this.proto).finish();
      this.shaCache = createHash("sha256").update(bytes).digest("hex");
    }
    return this.shaCache;
  }

  /** Opset of the domain a node belongs to. */
  opsetOf(node: NodeView): number {
    return this.opsets[node.domain || ""] ?? this.opset;
  }

  summary(): ModelSummary {
    return {
      opset: this.opset,
      opsets: { ...this.opsets },
      inputName: this.inputName,
      inputShape: [...this.inputShape],
      outputNames: [...this.outputNames],
      nodeCount: this.nodes.length,
    };
  }

  /**
   * The value of a tensor fixed by the file itself: an initializer, a Constant node, or an Identity of one of
   * those (torch exports share weights through Identity nodes). Undefined for anything computed at run time.
   */
  constantValue(name: string): TensorValue | undefined {
    if (this.constCache.has(name)) return this.constCache.get(name) ?? undefined;
    let value: TensorValue | null = null;
    const init = this.initializers.get(name);
    if (init) value = decodeTensor(init);
    else {
      const p = this.producer.get(name);
      if (p && p.opType === "Constant" && !p.domain) {
        const t = attrTensor(p.proto, "value");
        if (t) value = decodeTensor(t);
        else value = constantFromScalarAttributes(p.proto);
      } else if (p && p.opType === "Identity" && !p.domain) {
        value = this.constantValue(p.inputs[0]) ?? null;
      }
    }
    this.constCache.set(name, value);
    return value ?? undefined;
  }
}

function constantFromScalarAttributes(node: O.INodeProto): TensorValue | null {
  for (const a of node.attribute ?? []) {
    if (a.name === "value_float") return { dataType: DataType.FLOAT, dims: [], data: Float32Array.of(a.f ?? 0) };
    if (a.name === "value_floats") return { dataType: DataType.FLOAT, dims: [a.floats?.length ?? 0], data: Float32Array.from(a.floats ?? []) };
    if (a.name === "value_int") return { dataType: DataType.INT64, dims: [], data: [toNumber(a.i)] };
    if (a.name === "value_ints") return { dataType: DataType.INT64, dims: [a.ints?.length ?? 0], data: (a.ints ?? []).map(toNumber) };
  }
  return null;
}

function topologicalOrder(graph: O.IGraphProto, available: Set<string>): NodeView[] {
  const protos = graph.node ?? [];
  const known = new Set(available);
  known.add("");
  const produced = new Set<string>();
  for (const n of protos) for (const o of n.output ?? []) produced.add(o);
  // Kahn's algorithm, keeping the file's order among ready nodes so exports stay recognisable.
  const waiting = protos.map((n) => (n.input ?? []).filter((i) => !known.has(i)).length);
  const byInput = new Map<string, number[]>();
  protos.forEach((n, idx) => {
    for (const i of new Set(n.input ?? [])) {
      if (known.has(i)) continue;
      if (!produced.has(i)) {
        throw new EngineError(
          "INVALID_ONNX",
          `node '${n.name || n.opType}' (${n.opType}) reads tensor '${i}', which is neither an input, an initializer nor any node's output`,
        );
      }
      const list = byInput.get(i);
      if (list) list.push(idx);
      else byInput.set(i, [idx]);
    }
  });
  // Duplicate input names on one node count once.
  protos.forEach((n, idx) => {
    waiting[idx] = new Set((n.input ?? []).filter((i) => !known.has(i))).size;
  });
  const ready: number[] = [];
  protos.forEach((_, idx) => waiting[idx] === 0 && ready.push(idx));
  const order: NodeView[] = [];
  const done = new Set<number>();
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const idx = ready.shift()!;
    done.add(idx);
    const p = protos[idx];
    order.push({
      index: order.length,
      name: p.name || `${p.opType}_${idx}`,
      opType: p.opType ?? "",
      domain: p.domain ?? "",
      inputs: [...(p.input ?? [])],
      outputs: [...(p.output ?? [])],
      proto: p,
    });
    for (const o of p.output ?? []) {
      for (const c of byInput.get(o) ?? []) {
        waiting[c]--;
        if (waiting[c] === 0) ready.push(c);
      }
      byInput.delete(o);
    }
  }
  if (order.length !== protos.length) {
    const stuck = protos.filter((_, i) => !done.has(i)).slice(0, 3).map((n) => n.name || n.opType);
    throw new EngineError("INVALID_ONNX", `the graph has a cycle; nodes that never become ready include ${stuck.join(", ")}`);
  }
  return order;
}

/**
 * Decodes ONNX bytes. INVALID_ONNX for bytes that are not an ONNX model; UNSUPPORTED_MODEL for a valid model the
 * service cannot use (not exactly one float32 input with a static shape, or tensors kept as external data).
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  let proto: O.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EngineError(
      "INVALID_ONNX",
      `expected an ONNX model (a protobuf ModelProto); the ${bytes.byteLength} bytes could not be decoded: ${(e as Error).message}`,
    );
  }
  const graph = proto.graph;
  if (!graph || !(graph.node?.length) || !(proto.opsetImport?.length) || toNumber(proto.irVersion) <= 0) {
    throw new EngineError(
      "INVALID_ONNX",
      `expected an ONNX model with an IR version, an opset import and a graph with nodes; the ${bytes.byteLength} bytes decode to ` +
        `ir_version=${toNumber(proto.irVersion)}, ${proto.opsetImport?.length ?? 0} opset imports, ${graph?.node?.length ?? 0} nodes`,
    );
  }
  // Before anything else reads the tensors, and long before onnxruntime sees the file.
  assertSelfContained(proto);
  return new OnnxModel(proto, bytes);
}

export function encodeModel(proto: O.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(proto).finish();
}
