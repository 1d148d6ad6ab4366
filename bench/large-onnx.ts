// Writes a large, valid ONNX model to disk without ever holding it in memory: a few big float initializers feeding a
// small computation, encoded as protobuf by hand so the weights can be streamed in blocks (bench/large-upload.ts).
//
//   x [1, rows] ─ MatMul W1 [rows, cols] ─┐
//               ─ MatMul W2 ───────────── Add ─ Add ─ Relu ─ MatMul Wout [cols, 10] ─ logits [1, 10]
//               ─ MatMul W3 ──────────────────┘
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

// protobuf wire format: varints and length-delimited fields are all this model needs
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
const key = (field: number, wire: 0 | 2) => varint(field * 8 + wire);
const int = (field: number, value: number) => Buffer.concat([key(field, 0), varint(value)]);
const bytesField = (field: number, body: Buffer) => Buffer.concat([key(field, 2), varint(body.length), body]);
const str = (field: number, s: string) => bytesField(field, Buffer.from(s, "utf8"));

const FLOAT = 1;

function valueInfo(name: string, shape: number[]): Buffer {
  const dims = Buffer.concat(shape.map((d) => bytesField(1, int(1, d)))); // TensorShapeProto.dim { dim_value }
  const tensorType = Buffer.concat([int(1, FLOAT), bytesField(2, dims)]); // elem_type, shape
  return Buffer.concat([str(1, name), bytesField(2, bytesField(1, tensorType))]); // name, type { tensor_type }
}

function node(op: string, name: string, inputs: string[], outputs: string[]): Buffer {
  return Buffer.concat([...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, name), str(4, op)]);
}

/** Everything of a TensorProto before its raw_data bytes: dims, data_type, name, and raw_data's key and length. */
function tensorPrefix(name: string, dims: number[], rawBytes: number): Buffer {
  return Buffer.concat([...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), key(9, 2), varint(rawBytes)]);
}

export interface LargeModelSpec {
  /** input width (rows of each big weight) */
  rows: number;
  /** output width of each big MatMul (columns of each big weight) */
  cols: number;
  /** number of big weights */
  weights: number;
  seed: number;
}

/** 3 × 1024 × 122,880 floats: 1.51 GB (1.41 GiB), under the 2 GiB protobuf limit. */
export const DEFAULT_SPEC: LargeModelSpec = { rows: 1024, cols: 122_880, weights: 3, seed: 1 };

/** Seeded uniform floats in [-0.01, 0.01] (xorshift32), block by block. */
function* floatBlocks(count: number, seed: number, blockFloats = 1 << 20): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  for (let done = 0; done < count; ) {
    const n = Math.min(blockFloats, count - done);
    const block = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      block[i] = (x / 0xffffffff - 0.5) * 0.02;
    }
    done += n;
    yield Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  }
}

/**
 * Writes the model to `path` piece by piece (a few MiB in memory at a time) and returns its size and sha256, computed
 * while writing. Little-endian floats: the hosts this runs on are x86/ARM.
 */
export async function writeLargeModel(path: string, spec: LargeModelSpec = DEFAULT_SPEC): Promise<{ byteSize: number; sha256: string }> {
  const { rows, cols, weights, seed } = spec;
  const classes = 10;
  const big = Array.from({ length: weights }, (_, k) => ({ name: `W${k + 1}`, dims: [rows, cols], floats: rows * cols, seed: seed + k }));
  const out = { name: "Wout", dims: [cols, classes], floats: cols * classes, seed: seed + weights };
  const initializers = [...big, out];

  const nodes: Buffer[] = big.map((w, k) => node("MatMul", `matmul${k + 1}`, ["x", w.name], [`h${k + 1}`]));
  let sum = "h1";
  for (let k = 2; k <= weights; k++) {
    const next = k === weights ? "sum" : `sum${k}`;
    nodes.push(node("Add", `add${k}`, [sum, `h${k}`], [next]));
    sum = next;
  }
  nodes.push(node("Relu", "relu", [sum], ["relu"]));
  nodes.push(node("MatMul", "classifier", ["relu", "Wout"], ["logits"]));

  // graph fields in order: node (1), name (2), initializer (5), input (11), output (12)
  const head = Buffer.concat([...nodes.map((n) => bytesField(1, n)), str(2, "large-bench")]);
  const tail = Buffer.concat([bytesField(11, valueInfo("x", [1, rows])), bytesField(12, valueInfo("logits", [1, classes]))]);
  const pieces = initializers.map((t) => {
    const prefix = tensorPrefix(t.name, t.dims, t.floats * 4);
    const tensorLength = prefix.length + t.floats * 4;
    return { t, fieldHead: Buffer.concat([key(5, 2), varint(tensorLength), prefix]) };
  });
  const graphLength = head.length + tail.length + pieces.reduce((n, p) => n + p.fieldHead.length + p.t.floats * 4, 0);
  const model = Buffer.concat([
    int(1, 8), // ir_version
    str(2, "metamer-hub bench/large-onnx.ts"),
    bytesField(8, Buffer.concat([str(1, ""), int(2, 17)])), // opset_import { domain "", version 17 }
    key(7, 2),
    varint(graphLength),
  ]);

  const hash = createHash("sha256");
  const file = await open(path, "w");
  let byteSize = 0;
  const write = async (b: Buffer) => {
    hash.update(b);
    byteSize += b.length;
    await file.write(b);
  };
  try {
    await write(model);
    await write(head);
    for (const p of pieces) {
      await write(p.fieldHead);
      for (const block of floatBlocks(p.t.floats, p.t.seed)) await write(block);
    }
    await write(tail);
  } finally {
    await file.close();
  }
  return { byteSize, sha256: hash.digest("hex") };
}
