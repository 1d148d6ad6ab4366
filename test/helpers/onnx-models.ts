// Tiny ONNX models built in code, for registry inputs the fixtures do not cover (two inputs, integer input).
import onnxProto, { type onnx as O } from "onnx-proto";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

const valueInfo = (name: string, elemType: number, dims: number[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });

function model(inputs: O.IValueInfoProto[], nodes: O.INodeProto[], outputs: O.IValueInfoProto[]): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "metamer-hub-tests",
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "g", input: inputs, output: outputs, node: nodes },
  }).finish();
}

/** y = relu(a + b): two float inputs. */
export const twoInputModel = (): Uint8Array =>
  model(
    [valueInfo("a", FLOAT, [1, 4]), valueInfo("b", FLOAT, [1, 4])],
    [
      { opType: "Add", input: ["a", "b"], output: ["s"], name: "add" },
      { opType: "Relu", input: ["s"], output: ["y"], name: "relu" },
    ],
    [valueInfo("y", FLOAT, [1, 4])],
  );

/** y = float(x) for an int64 input. */
export const integerInputModel = (): Uint8Array =>
  model(
    [valueInfo("x", INT64, [1, 4])],
    [{ opType: "Cast", input: ["x"], output: ["y"], name: "cast", attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] }],
    [valueInfo("y", FLOAT, [1, 4])],
  );

/** y = relu(x) for a float input: the smallest valid model. */
export const reluModel = (): Uint8Array =>
  model([valueInfo("x", FLOAT, [1, 4])], [{ opType: "Relu", input: ["x"], output: ["y"], name: "relu" }], [valueInfo("y", FLOAT, [1, 4])]);
