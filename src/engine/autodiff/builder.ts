// Emits the nodes and constants of the backward graph. Helpers pick the operator signature of the target opset
// (axes as attribute or input, Split sizes, ...), so rules never branch on the opset they write for.
import type { onnx as O } from "onnx-proto";
import { makeAttribute, type AttrValue } from "../onnx/attributes.js";
import { DataType, onnx } from "../onnx/proto.js";
import { float32Tensor, int64Tensor } from "../onnx/tensor.js";

export class GraphBuilder {
  readonly nodes: O.NodeProto[] = [];
  readonly initializers: O.TensorProto[] = [];
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(
    /** opset of the emitted graph (default domain) */
    readonly opset: number,
    /** names already used by the forward graph */
    private readonly taken: Set<string>,
    private readonly prefix = "grad/",
  ) {}

  fresh(hint: string): string {
    for (;;) {
      const name = `${this.prefix}${hint}_${this.counter++}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }

  /** Appends a node and returns its outputs (fresh names unless given). */
  opN(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`${opType}_node`),
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
      }),
    );
    return outs;
  }

  /** Appends a node with attributes copied from a forward node (e.g. a second MaxPool with the same geometry). */
  opWithAttributes(opType: string, inputs: string[], attributes: O.IAttributeProto[], outputs: number): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push(onnx.NodeProto.create({ opType, name: this.fresh(`${opType}_node`), input: inputs, output: outs, attribute: attributes }));
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opN(opType, inputs, attrs, 1)[0];
  }

  /** Adds an initializer verbatim (e.g. precomputed flipped weights). */
  initializer(hint: string, dims: number[], values: ArrayLike<number>): string {
    const name = this.fresh(hint);
    this.initializers.push(float32Tensor(name, dims, values));
    return name;
  }

  constI64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh("const_i64");
      this.initializers.push(int64Tensor(name, dims, values));
      this.constCache.set(key, name);
    }
    return name;
  }

  constF32(values: ArrayLike<number>, dims: number[]): string {
    // Only small constants are cached by content; large ones (index maps, weights) are added once by their rule.
    const small = values.length <= 64;
    const key = small ? `f32:${dims.join("x")}:${Array.from(values).join(",")}` : "";
    if (small && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh("const_f32");
    this.initializers.push(float32Tensor(name, dims, values));
    if (small) this.constCache.set(key, name);
    return name;
  }

  scalar(v: number): string {
    return this.constF32([v], []);
  }

  /** A scalar of the given ONNX element type (float32 unless the model computes in float64). */
  scalarOf(v: number, dataType: number): string {
    if (dataType !== DataType.DOUBLE) return this.scalar(v);
    const key = `f64:${v}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh("const_f64");
      this.initializers.push(onnx.TensorProto.create({ name, dims: [], dataType: DataType.DOUBLE, rawData: new Uint8Array(Float64Array.of(v).buffer) }));
      this.constCache.set(key, name);
    }
    return name;
  }

  // ---- opset-aware helpers -------------------------------------------------------------------------------------

  /** ReduceSum over `axes` (all axes when omitted). */
  reduceSum(x: string, axes: number[] | null, keepdims: boolean): string {
    const kd = { keepdims: { i: keepdims ? 1 : 0 } };
    if (axes === null) return this.op("ReduceSum", [x], kd);
    return this.opset >= 13 ? this.op("ReduceSum", [x, this.constI64(axes)], kd) : this.op("ReduceSum", [x], { ...kd, axes: { ints: axes } });
  }

  reduceMean(x: string, axes: number[] | null, keepdims: boolean): string {
    const kd = { keepdims: { i: keepdims ? 1 : 0 } };
    if (axes === null) return this.op("ReduceMean", [x], kd);
    return this.opset >= 18 ? this.op("ReduceMean", [x, this.constI64(axes)], kd) : this.op("ReduceMean", [x], { ...kd, axes: { ints: axes } });
  }

  reshape(x: string, shape: number[]): string {
    return this.op("Reshape", [x, this.constI64(shape)]);
  }

  transpose(x: string, perm: number[]): string {
    return this.op("Transpose", [x], { perm: { ints: perm } });
  }

  /** Float zeros of a static shape, without a large initializer. */
  zeros(shape: number[]): string {
    return this.op("ConstantOfShape", [this.constI64(shape)], { value: { t: float32Tensor("", [1], [0]) } });
  }

  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    const ins = [x, this.constI64(starts), this.constI64(ends), this.constI64(axes)];
    if (steps) ins.push(this.constI64(steps));
    return this.op("Slice", ins);
  }

  /** Constant-mode Pad with [begins..., ends...] pads over all axes. */
  pad(x: string, pads: number[]): string {
    return this.opset >= 11 ? this.op("Pad", [x, this.constI64(pads)]) : this.op("Pad", [x], { pads: { ints: pads } });
  }

  scatterAdd(data: string, indices: string, updates: string, axis: number): string {
    return this.op("ScatterElements", [data, indices, updates], { axis: { i: axis }, reduction: { s: "add" } });
  }

  /** Sums `g` (of shape `from`) down to the shape `to` it was broadcast from: numpy broadcasting in reverse. */
  unbroadcast(g: string, from: number[], to: number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    return this.reshape(axes.length ? this.reduceSum(g, axes, true) : g, to);
  }

  cast(x: string, to: number): string {
    return this.op("Cast", [x], { to: { i: to } });
  }

  static readonly FLOAT = DataType.FLOAT;
}
