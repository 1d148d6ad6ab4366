// Builds small ONNX models in code (onnx-proto) for the op table and the bad-input cases.
import { makeAttribute, type AttrValue } from "../../src/engine/onnx/attributes.js";
import { DataType, onnx } from "../../src/engine/onnx/proto.js";
import { float32Tensor, int64Tensor } from "../../src/engine/onnx/tensor.js";

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export type InitSpec = { f32: number[] | Float32Array; dims: number[] } | { i64: number[]; dims?: number[] } | { bool: number[]; dims: number[] };

export interface ModelSpec {
  inputs?: { name: string; shape: (number | string)[]; elemType?: number }[];
  /** shorthand for one float input named "x" */
  inputShape?: number[];
  nodes: NodeSpec[];
  initializers?: Record<string, InitSpec>;
  outputs: string[];
  opset?: number;
  extraOpsets?: Record<string, number>;
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const inputs = spec.inputs ?? [{ name: "x", shape: spec.inputShape ?? [1] }];
  const init = Object.entries(spec.initializers ?? {}).map(([name, v]) => {
    if ("f32" in v) return float32Tensor(name, v.dims, v.f32);
    if ("i64" in v) return int64Tensor(name, v.dims ?? [v.i64.length], v.i64);
    return onnx.TensorProto.create({ name, dims: v.dims, dataType: DataType.BOOL, rawData: Uint8Array.from(v.bool) });
  });
  const opset = spec.opset ?? 17;
  const graph = onnx.GraphProto.create({
    name: "test",
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({
        name: `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? "",
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => makeAttribute(k, v)),
      }),
    ),
    initializer: init,
    input: inputs.map((i) =>
      onnx.ValueInfoProto.create({
        name: i.name,
        type: {
          tensorType: {
            elemType: i.elemType ?? DataType.FLOAT,
            shape: { dim: i.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
          },
        },
      }),
    ),
    output: spec.outputs.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT } } })),
  });
  const opsetImport = [{ domain: "", version: opset }, ...Object.entries(spec.extraOpsets ?? {}).map(([domain, version]) => ({ domain, version }))];
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport, graph })).finish();
}
