// The one place that touches the onnx-proto package (a CommonJS protobufjs bundle, so it comes in as a default
// import). Everything else uses the re-exported `onnx` namespace and the small helpers below.
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
// Types: `import type { onnx as O } from "onnx-proto"` and use `O.INodeProto` etc.

export const DataType = onnx.TensorProto.DataType;
export const AttributeType = onnx.AttributeProto.AttributeType;

/** protobufjs decodes int64 fields as Long objects when long.js is installed; shapes and attributes are small. */
export function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v && typeof (v as { toNumber?: unknown }).toNumber === "function") return (v as { toNumber(): number }).toNumber();
  if (typeof v === "string") return Number(v);
  return Number(v);
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

export function dataTypeName(t: number): string {
  return (DataType as unknown as Record<number, string>)[t] ?? `type ${t}`;
}
