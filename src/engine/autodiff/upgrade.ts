// Rewrites forward nodes of an old-opset model (< 13) into their opset-17 signatures, so the gradient graph can run
// at opset 17 (ScatterElements reduction, GreaterOrEqual/LessOrEqual, LayerNormalization need it). Only ops whose
// inputs/attributes moved are touched; the rest mean the same thing at 17.
import type { onnx as O } from "onnx-proto";
import { attrFloat, attrInt, attrInts, copyAttributes, hasAttr } from "../onnx/attributes.js";
import type { NodeView } from "../onnx/model.js";
import { onnx } from "../onnx/proto.js";
import { normalizeAxis } from "./axes.js";
import type { GraphBuilder } from "./builder.js";

function withInputs(node: O.INodeProto, inputs: string[], attribute: O.IAttributeProto[], outputs = node.output ?? []): O.INodeProto {
  return onnx.NodeProto.create({ ...node, input: inputs, output: outputs, attribute });
}

/** `from` is the node's own opset; returns the replacement nodes (often just one). */
export function upgradeNode(n: NodeView, from: number, b: GraphBuilder, shape: (name: string) => number[]): O.INodeProto[] {
  const p = n.proto;
  const drop = (...names: string[]) => copyAttributes(p, Object.fromEntries(names.map((k) => [k, undefined])));
  switch (n.opType) {
    case "Squeeze":
    case "Unsqueeze":
    case "ReduceSum":
    case "Split": {
      const attr = n.opType === "Split" ? "split" : "axes";
      if (from >= 13 || !hasAttr(p, attr)) return [p];
      return [withInputs(p, [n.inputs[0], b.constI64(attrInts(p, attr)!)], drop(attr))];
    }
    case "Clip": {
      if (from >= 11) return [p];
      const lo = hasAttr(p, "min") ? b.scalar(attrFloat(p, "min", 0)) : "";
      const hi = hasAttr(p, "max") ? b.scalar(attrFloat(p, "max", 0)) : "";
      return [withInputs(p, [n.inputs[0], lo, hi], drop("min", "max"))];
    }
    case "Pad": {
      if (from >= 11) return [p];
      return [withInputs(p, [n.inputs[0], b.constI64(attrInts(p, "pads")!), b.scalar(attrFloat(p, "value", 0))], drop("pads", "value"))];
    }
    case "Slice": {
      if (from >= 10) return [p];
      const starts = attrInts(p, "starts")!;
      const axes = attrInts(p, "axes") ?? starts.map((_, i) => i);
      return [withInputs(p, [n.inputs[0], b.constI64(starts), b.constI64(attrInts(p, "ends")!), b.constI64(axes)], [])];
    }
    case "Softmax":
    case "LogSoftmax":
    case "Hardmax": {
      if (from >= 13) return [p];
      // Before 13 the op normalised the input flattened to 2-D at `axis`; at 13 it normalises one axis.
      const xShape = shape(n.inputs[0]);
      const rank = xShape.length;
      const a = normalizeAxis(attrInt(p, "axis", 1), rank);
      if (a === rank - 1) return [withInputs(p, n.inputs, copyAttributes(p, { axis: { i: -1 } }))];
      const flat = b.op("Flatten", [n.inputs[0]], { axis: { i: a } });
      const normalised = b.fresh(n.opType);
      const op = withInputs(p, [flat], copyAttributes(p, { axis: { i: -1 } }), [normalised]);
      const back = onnx.NodeProto.create({ opType: "Reshape", name: b.fresh("reshape_back"), input: [normalised, b.constI64(xShape)], output: n.outputs });
      const flatten = b.nodes.pop()!; // emitted above: must precede the op in the forward section
      return [flatten, op, back];
    }
    case "Dropout":
      return from >= 12 ? [p] : [onnx.NodeProto.create({ opType: "Identity", name: n.name, input: [n.inputs[0]], output: [n.outputs[0]] })];
    case "BatchNormalization":
      return from >= 9 ? [p] : [withInputs(p, n.inputs, drop("spatial", "is_test", "consumed_inputs", "momentum"), [n.outputs[0]])];
    case "TopK":
      return from >= 10 ? [p] : [withInputs(p, [n.inputs[0], b.constI64([attrInt(p, "k", 1)])], drop("k"))];
    default:
      return [p];
  }
}
