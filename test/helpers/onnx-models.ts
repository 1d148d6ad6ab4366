// Tiny ONNX models for registry inputs the fixtures do not cover (two inputs, integer input), made with the tests'
// one model builder (test/engine/build-model.ts).
import { DataType } from "../../src/engine/onnx/proto.js";
import { buildModel } from "../engine/build-model.js";

/** y = relu(a + b): two float inputs. */
export const twoInputModel = (): Uint8Array =>
  buildModel({
    inputs: [
      { name: "a", shape: [1, 4] },
      { name: "b", shape: [1, 4] },
    ],
    nodes: [
      { op: "Add", inputs: ["a", "b"], outputs: ["s"] },
      { op: "Relu", inputs: ["s"], outputs: ["y"] },
    ],
    outputs: ["y"],
  });

/** y = float(x) for an int64 input. */
export const integerInputModel = (): Uint8Array =>
  buildModel({
    inputs: [{ name: "x", shape: [1, 4], elemType: DataType.INT64 }],
    nodes: [{ op: "Cast", inputs: ["x"], outputs: ["y"], attrs: { to: { i: DataType.FLOAT } } }],
    outputs: ["y"],
  });

/** y = relu(x) for a float input: the smallest valid model. */
export const reluModel = (): Uint8Array =>
  buildModel({ inputShape: [1, 4], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }], outputs: ["y"] });
