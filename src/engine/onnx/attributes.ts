// Typed access to node attributes, and constructors for the attributes the gradient emitter writes.
import type { onnx as O } from "onnx-proto";
import { AttributeType, onnx, toNumber } from "./proto.js";

function find(node: O.INodeProto, name: string): O.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function hasAttr(node: O.INodeProto, name: string): boolean {
  return find(node, name) !== undefined;
}

export function attrInt(node: O.INodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a && a.i != null ? toNumber(a.i) : fallback;
}

export function attrFloat(node: O.INodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a && a.f != null ? a.f : fallback;
}

export function attrInts(node: O.INodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? (a.ints ?? []).map(toNumber) : undefined;
}

export function attrFloats(node: O.INodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a ? [...(a.floats ?? [])] : undefined;
}

export function attrString(node: O.INodeProto, name: string, fallback: string): string {
  const a = find(node, name);
  return a && a.s ? Buffer.from(a.s).toString("utf8") : fallback;
}

export function attrTensor(node: O.INodeProto, name: string): O.ITensorProto | undefined {
  return find(node, name)?.t ?? undefined;
}

/** Attribute values as the emitter writes them; the wrapper says which ONNX attribute type is meant. */
export type AttrValue =
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { t: O.ITensorProto };

export function makeAttribute(name: string, v: AttrValue): O.AttributeProto {
  if ("i" in v) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: v.i });
  if ("f" in v) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: v.f });
  if ("ints" in v) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: v.ints });
  if ("floats" in v) return onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: v.floats });
  if ("s" in v) return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: Buffer.from(v.s, "utf8") });
  return onnx.AttributeProto.create({ name, type: AttributeType.TENSOR, t: v.t });
}

/** Copies the attributes of a forward node, optionally overriding or dropping some (value undefined = drop). */
export function copyAttributes(node: O.INodeProto, overrides: Record<string, AttrValue | undefined> = {}): O.IAttributeProto[] {
  const out: O.IAttributeProto[] = [];
  for (const a of node.attribute ?? []) if (!(a.name! in overrides)) out.push(a);
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out.push(makeAttribute(k, v));
  return out;
}
