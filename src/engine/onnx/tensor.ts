// TensorProto <-> JavaScript arrays. Integer tensors become plain number arrays (they hold shapes, axes and
// indices, far below 2^53 except the INT64_MAX "to the end" sentinel, which stays above any real size).
import type { onnx as O } from "onnx-proto";
import { DataType, dataTypeName, onnx, toNumber } from "./proto.js";

export interface TensorValue {
  dataType: number;
  dims: number[];
  /** float types as Float32Array/Float64Array, everything else as numbers (booleans as 0/1). */
  data: Float32Array | Float64Array | number[];
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // rawData may be an unaligned view into the decoded model buffer: copy before reinterpreting.
  const out = new ArrayBuffer(raw.byteLength);
  new Uint8Array(out).set(raw);
  return out;
}

export function tensorDims(t: O.ITensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

export function decodeTensor(t: O.ITensorProto): TensorValue {
  const dataType = t.dataType ?? DataType.UNDEFINED;
  const dims = tensorDims(t);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new Error(`tensor '${t.name}' keeps its data in an external file; only self-contained models are supported`);
  }
  const raw = t.rawData && t.rawData.byteLength > 0 ? copyBytes(t.rawData) : null;
  switch (dataType) {
    case DataType.FLOAT:
      return { dataType, dims, data: raw ? new Float32Array(raw) : Float32Array.from(t.floatData ?? []) };
    case DataType.DOUBLE:
      return { dataType, dims, data: raw ? new Float64Array(raw) : Float64Array.from(t.doubleData ?? []) };
    case DataType.INT64:
      return { dataType, dims, data: raw ? Array.from(new BigInt64Array(raw), Number) : (t.int64Data ?? []).map(toNumber) };
    case DataType.INT32:
      return { dataType, dims, data: raw ? Array.from(new Int32Array(raw)) : (t.int32Data ?? []).map(toNumber) };
    case DataType.INT8:
      return { dataType, dims, data: raw ? Array.from(new Int8Array(raw)) : (t.int32Data ?? []).map(toNumber) };
    case DataType.UINT8:
    case DataType.BOOL:
      return { dataType, dims, data: raw ? Array.from(new Uint8Array(raw)) : (t.int32Data ?? []).map(toNumber) };
    case DataType.INT16:
      return { dataType, dims, data: raw ? Array.from(new Int16Array(raw)) : (t.int32Data ?? []).map(toNumber) };
    case DataType.UINT16:
      return { dataType, dims, data: raw ? Array.from(new Uint16Array(raw)) : (t.int32Data ?? []).map(toNumber) };
    case DataType.UINT32:
      return { dataType, dims, data: raw ? Array.from(new Uint32Array(raw)) : (t.uint64Data ?? []).map(toNumber) };
    default:
      throw new Error(`tensor '${t.name}' has data type ${dataTypeName(dataType)}, which the engine does not read`);
  }
}

export function float32Tensor(name: string, dims: number[], values: ArrayLike<number>): O.TensorProto {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  });
}

export function int64Tensor(name: string, dims: number[], values: ArrayLike<number>): O.TensorProto {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // Slice ends use +-INT64 extremes as "to the end": clamp instead of overflowing.
    data[i] = v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : BigInt(Math.trunc(v));
  }
  return onnx.TensorProto.create({ name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) });
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
