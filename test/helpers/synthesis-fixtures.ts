// Shared set-up for synthesis tests: the lenet fixture registered as a model, and a small set of 28x28 grey PNG
// stimuli made from the fixture's natural input (shifted/flipped/dimmed variants, so the null is not degenerate).
import { readFileSync } from "node:fs";
import path from "node:path";
import onnxProto from "onnx-proto";
import { renderImage } from "../../src/engine/index.js";
import { pino } from "pino";
import { createJobHandlers } from "../../src/worker.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { JobQueue } from "../../src/services/jobs/queue.js";
import type { TestApp } from "./app.js";
import type { Services } from "../../src/services/index.js";
import { AUTODIFF_FIXTURES } from "./constants.js";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
export const autodiffFixtures = AUTODIFF_FIXTURES;

export const LENET_STAGES = {
  relu1: "/relu1/Relu_output_0",
  pool1: "/pool1/MaxPool_output_0",
  relu2: "/relu2/Relu_output_0",
  fc1_relu: "/relu3/Relu_output_0",
  fc2_relu: "/relu4/Relu_output_0",
  final: "logits",
};

export function fixtureFloat32(file: string): Float32Array {
  const b = readFileSync(path.join(autodiffFixtures, file));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export async function registerFixtureModel(services: Services, ctx: RequestContext, name: string, file: string, stageLabels: Record<string, string>) {
  const data = readFileSync(path.join(autodiffFixtures, file)).toString("base64");
  const classLabels = Array.from({ length: 10 }, (_, i) => `class${i}`);
  return services.models.register(ctx, { name, modality: "IMAGE", data, stageLabels, classLabels });
}

/** `count` PNG variants of a [1, C, H, W] natural image. */
export async function imageVariants(natural: Float32Array, shape: [number, number, number, number], count: number): Promise<string[]> {
  const [, c, h, w] = shape;
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const x = new Float32Array(natural.length);
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) {
          const si = (i + k) % h; // shift down by k rows
          const sj = k % 2 === 1 ? w - 1 - j : j; // mirror every other one
          x[ch * h * w + i * w + j] = natural[ch * h * w + si * w + sj] * (1 - (0.6 * k) / Math.max(count, 1));
        }
    out.push(Buffer.from((await renderImage(x, shape, [0, 1])).bytes).toString("base64"));
  }
  return out;
}

// A group holds each set name once (issue 13): calls without a name get set-1, set-2, ...
let setsMade = 0;
export async function addImageSet(services: Services, ctx: RequestContext, modelId: string, pngs: string[], name = `set-${++setsMade}`) {
  const set = await services.stimuli.createSet(ctx, { name, modality: "IMAGE", classLabels: ["a"] });
  const added = await services.stimuli.addStimuli(ctx, {
    setId: set.id,
    modelId,
    items: pngs.map((data, i) => ({ label: "a", filename: `s${i}.png`, data })),
  });
  return { set, stimuli: added };
}

const { onnx } = onnxProto;
/** input [1,1,4,4] -> logx = Log(input) -> logits = Flatten(logx): Log(0) = -Inf makes the loss non-finite. */
export function logModel(): Uint8Array {
  return flattenedModel("log", [{ opType: "Log", input: ["input"], output: ["logx"], name: "log" }], "logx");
}

/** input [1,1,4,4] -> r = Relu -> q = Sin(r) -> logits = Flatten(q): Sin has no gradient rule, so `q` cannot be targeted. */
export function sinModel(): Uint8Array {
  return flattenedModel(
    "round",
    [
      { opType: "Relu", input: ["input"], output: ["r"], name: "relu" },
      { opType: "Sin", input: ["r"], output: ["q"], name: "sin" },
    ],
    "q",
  );
}

/** A [1,1,4,4] -> [1,16] test model: `nodes` from `input`, then `logits` = Flatten(last). */
function flattenedModel(name: string, nodes: Record<string, unknown>[], last: string): Uint8Array {
  const vi = (tensor: string, dims: number[]) =>
    onnx.ValueInfoProto.create({ name: tensor, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: "metamer-hub-tests",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name,
      input: [vi("input", [1, 1, 4, 4])],
      output: [vi("logits", [1, 16])],
      node: [
        ...nodes,
        { opType: "Flatten", input: [last], output: ["logits"], name: "flatten", attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      ],
    },
  }).finish();
}

/** The job handlers of a worker on the test app's store, run in-process: `drain()` runs jobs until none is left. */
export function inProcessWorker(t: TestApp) {
  const log = pino({ level: "silent" });
  const handlers = createJobHandlers({ store: t.store, config: t.app.config, log });
  const queue = new JobQueue(t.store, handlers.registry, log);
  return {
    queue,
    /** Runs jobs one by one until none is claimable; returns "KIND:result" per job run. */
    async drain(): Promise<string[]> {
      const results: string[] = [];
      for (let r = await queue.runOne(); r; r = await queue.runOne()) results.push(`${r.job.kind}:${r.result}`);
      return results;
    },
    close: () => handlers.close(),
  };
}
