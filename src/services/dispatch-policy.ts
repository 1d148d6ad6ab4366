// Which dispatcher gets a synthesis batch: the caller's `target`, or else the estimated work of one job against a
// threshold (METAMERS_GPU_WORK_THRESHOLD). The estimate comes from the layer catalogue (no model is loaded to decide).
import { AppError } from "../errors.js";
import type { LayerRecord } from "../store/models.js";
import type { Dispatcher } from "./ports.js";

/** Where a batch's jobs run (the GraphQL enum `DispatchTarget`). */
export type DispatchTarget = "LOCAL" | "LAMBDA" | "GPU_BATCH";
export const DISPATCH_TARGETS: readonly DispatchTarget[] = ["LOCAL", "LAMBDA", "GPU_BATCH"];

const TARGET_OF: Record<Dispatcher["kind"], DispatchTarget | null> = { local: "LOCAL", lambda: "LAMBDA", batch: "GPU_BATCH", none: null };

/** A gradient step costs about three forward passes: the forward, and a backward of about twice its work. */
export const FORWARD_PASSES_PER_STEP = 3;
/** Kernel side assumed for convolutions: the catalogue has output shapes, not weights (ResNets are mostly 1x1 and 3x3). */
const ASSUMED_KERNEL = 3;

/**
 * Forward FLOPs of one input, estimated from the catalogue in topological order: a Conv output [N, C, H, W] costs
 * 2·C·H·W·Cin·k² with Cin the channels of the tensor before it and k = 3; a Gemm/MatMul output costs 2·outputs·fan-in
 * with the fan-in the size of the tensor before it; any other op one FLOP per output value. An order-of-magnitude
 * estimate (residual branches and kernel sizes are guessed), which is what choosing between a CPU and a GPU needs:
 * the demo's LeNet is about 10^6, ResNet50 at 224² about 10^10.
 */
export function estimateForwardFlops(inputShape: number[], layers: Pick<LayerRecord, "shape" | "producerOp" | "order">[]): number {
  let previous = inputShape;
  let flops = 0;
  const per = (shape: number[]) => shape.slice(1).reduce((a, b) => a * Math.max(1, b), 1);
  for (const layer of [...layers].sort((a, b) => a.order - b.order)) {
    const outputs = per(layer.shape);
    if (layer.producerOp === "Conv" || layer.producerOp === "ConvTranspose") {
      const inChannels = previous.length >= 3 ? Math.max(1, previous[1]) : 1;
      flops += 2 * outputs * inChannels * ASSUMED_KERNEL ** 2;
    } else if (layer.producerOp === "Gemm" || layer.producerOp === "MatMul") {
      flops += 2 * outputs * per(previous);
    } else {
      flops += outputs;
    }
    previous = layer.shape;
  }
  return flops;
}

export interface DispatchChoice {
  dispatcher: Dispatcher;
  /** null: the hub has no dispatcher (METAMERS_DISPATCHER=none): jobs wait for whatever worker polls. */
  target: DispatchTarget | null;
  /** Estimated FLOPs of one job (steps × forward passes per step × forward FLOPs). */
  workPerJob: number;
  reason: string;
}

/**
 * The hub's dispatchers: its primary one (local pool, Lambda, or none) and, when configured, GPU workers on AWS
 * Batch. A forced target must be one the hub has; without one, a job whose estimated work reaches the threshold goes
 * to the GPU workers and everything else to the primary dispatcher.
 */
export class DispatchPolicy {
  constructor(
    private readonly primary: Dispatcher,
    private readonly gpu: Dispatcher | null,
    private readonly gpuWorkThreshold: number,
  ) {}

  /** The targets a request may force on this hub. */
  targets(): DispatchTarget[] {
    return [TARGET_OF[this.primary.kind], this.gpu ? "GPU_BATCH" : null].filter((t): t is DispatchTarget => t !== null);
  }

  choose(request: { target?: DispatchTarget | null; workPerJob: number }): DispatchChoice {
    const { target, workPerJob } = request;
    const work = workPerJob.toExponential(2);
    if (target) {
      if (!DISPATCH_TARGETS.includes(target)) {
        throw new AppError("BAD_USER_INPUT", `target: expected one of ${DISPATCH_TARGETS.join(", ")}, got ${JSON.stringify(target)}`);
      }
      const available = this.targets();
      if (!available.includes(target)) {
        throw new AppError(
          "BAD_USER_INPUT",
          `target: expected a target this hub runs (${available.length ? available.join(", ") : "none: METAMERS_DISPATCHER=none, jobs wait for an external worker"}), got ${target}`,
        );
      }
      const dispatcher = target === "GPU_BATCH" ? this.gpu! : this.primary;
      return { dispatcher, target, workPerJob, reason: `forced by the request (estimated ${work} FLOPs per job)` };
    }
    if (this.gpu && workPerJob >= this.gpuWorkThreshold) {
      return { dispatcher: this.gpu, target: "GPU_BATCH", workPerJob, reason: `estimated ${work} FLOPs per job ≥ the GPU threshold ${this.gpuWorkThreshold.toExponential(2)}` };
    }
    return {
      dispatcher: this.primary,
      target: TARGET_OF[this.primary.kind],
      workPerJob,
      reason: this.gpu ? `estimated ${work} FLOPs per job < the GPU threshold ${this.gpuWorkThreshold.toExponential(2)}` : `the hub's dispatcher (estimated ${work} FLOPs per job)`,
    };
  }
}
