// Shape discovery: run the forward model once with every tensor as a graph output (no shape inference exists in
// TypeScript; ORT's run gives exact static shapes). Cached per model hash.
import { EngineError } from "../errors.js";
import type { ProbeInfo } from "../autodiff/backward.js";
import type { OnnxModel } from "../onnx/model.js";
import { DataType, onnx } from "../onnx/proto.js";
import { elementCount, type TensorValue } from "../onnx/tensor.js";
import { createSession, floatTensor } from "./ort.js";
import { publicOrtMessage } from "./ort-errors.js";

const ORT_TYPES: Record<string, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  int16: DataType.INT16,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  uint16: DataType.UINT16,
  uint32: DataType.UINT32,
  bool: DataType.BOOL,
};

const cache = new Map<string, Promise<ProbeInfo>>();
const CACHE_LIMIT = 16;
/** non-float tensors up to this many elements keep their values (shape arithmetic, indices) */
const KEEP_VALUES_UP_TO = 65536;

export function probeModel(model: OnnxModel): Promise<ProbeInfo> {
  const key = model.sha256;
  let p = cache.get(key);
  if (!p) {
    p = runProbe(model);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  }
  return p;
}

async function runProbe(model: OnnxModel): Promise<ProbeInfo> {
  const names: string[] = [];
  const seen = new Set<string>([model.inputName]);
  for (const n of model.nodes) for (const o of n.outputs) if (o && !seen.has(o)) (seen.add(o), names.push(o));
  // Outputs without type information are accepted by ORT; it reports the real type and shape after the run.
  const proto = onnx.ModelProto.create({
    ...model.proto,
    graph: onnx.GraphProto.create({ ...model.proto.graph!, output: names.map((name) => onnx.ValueInfoProto.create({ name })) }),
  });
  let session;
  try {
    session = await createSession(onnx.ModelProto.encode(proto).finish(), 1);
  } catch (e) {
    // Custom-domain ops, unsupported opsets, inconsistent shapes: the model cannot run here at all.
    throw new EngineError("UNSUPPORTED_MODEL", `onnxruntime cannot load the model: ${publicOrtMessage(e)}`);
  }
  try {
    const x = new Float32Array(elementCount(model.inputShape));
    const result = await session.run({ [model.inputName]: floatTensor(x, model.inputShape) }).catch((e: Error) => {
      throw new EngineError("UNSUPPORTED_MODEL", `onnxruntime cannot run the model on a zero input of shape [${model.inputShape.join(", ")}]: ${publicOrtMessage(e)}`);
    });
    const info: ProbeInfo = { shapes: new Map([[model.inputName, model.inputShape]]), dataTypes: new Map([[model.inputName, DataType.FLOAT]]), values: new Map() };
    for (const name of names) {
      const t = result[name];
      if (!t) continue;
      const dims = t.dims.map(Number);
      const dataType = ORT_TYPES[t.type] ?? DataType.UNDEFINED;
      info.shapes.set(name, dims);
      info.dataTypes.set(name, dataType);
      if (t.type !== "float32" && t.type !== "float64" && t.size <= KEEP_VALUES_UP_TO) {
        const data: number[] = Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => Number(v));
        const value: TensorValue = { dataType, dims, data };
        info.values.set(name, value);
      }
      t.dispose?.();
    }
    return info;
  } finally {
    await session.release();
  }
}
