// The contract between the backward driver and the per-op VJP rules.
import type { NodeView } from "../onnx/model.js";
import type { TensorValue } from "../onnx/tensor.js";
import type { GraphBuilder } from "./builder.js";

export interface VjpContext {
  node: NodeView;
  /** opset of the forward node's domain: decides how the node's own inputs/attributes are read */
  opset: number;
  /** emits backward nodes, using the signatures of the output graph's opset */
  b: GraphBuilder;
  /** name of the forward node's input i ("" where an optional input is absent) */
  x(i?: number): string;
  /** name of the forward node's output i */
  y(i?: number): string;
  /**
   * incoming gradient of output i. The driver calls a rule only for outputs listed in its `outputs` (default [0]),
   * and one of those always has a gradient; read `dy[i]` directly where an output may have none (Split).
   */
  gy(i?: number): string;
  /** static shape of a forward tensor (from the probe run) */
  shape(name: string): number[];
  /** ONNX element type of a forward tensor */
  dataType(name: string): number;
  /** value of a tensor that does not depend on the input data (initializers, Constant, shape arithmetic) */
  constant(name: string): TensorValue | undefined;
  /** incoming gradient per output, null where that output has none */
  dy: (string | null)[];
  /** whether input i needs a gradient */
  needs(i: number): boolean;
  /** a scalar constant in the element type of the node's first input (float32 or float64) */
  scalar(v: number): string;
  /** sums `g` (of shape `from`) down to the broadcast operand shape `to` */
  unbroadcast(g: string, from: number[], to: number[]): string;
  /** sums `g`, shaped like output 0, down to the shape of input i (numpy broadcasting in reverse) */
  unbroadcastTo(i: number, g: string): string;
}

/** Returns one gradient name per input (null/undefined where none is needed). */
export type Vjp = (ctx: VjpContext) => (string | null | undefined)[];

export interface Rule {
  vjp: Vjp;
  /** input positions the rule differentiates; an input outside them that depends on the data makes the node unsupported */
  inputs: number[] | "all";
  /** output positions whose gradient the rule consumes (default [0]) */
  outputs?: number[] | "all";
}

export type RuleTable = Record<string, Rule>;

/** Shorthand for table entries: `rule([0], (c) => [...])`. */
export function rule(inputs: number[] | "all", vjp: Vjp, outputs?: number[] | "all"): Rule {
  return { vjp, inputs, outputs };
}

/** Thrown by a rule when an attribute combination it does not cover turns up (reported as UNSUPPORTED_MODEL). */
export class RuleLimitation extends Error {}
