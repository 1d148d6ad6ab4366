// `metamers grad` and `metamers layers`: check a model's gradients and layer catalogue by hand.
import { readFileSync, writeFileSync } from "node:fs";
import { endianness } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError } from "../errors.js";
import { ForwardSession, GradientSession, inspectModel } from "../engine/index.js";

const GRAD_USAGE =
  "usage: metamers grad --model <file.onnx> --stage <tensor name> --input <x.f32> (--target <t.f32> | --natural <x_nat.f32>) " +
  "[--fake-relu] [--loss normalizedL2|mse] --out <grad.f32> [--json]";
const LAYERS_USAGE = "usage: metamers layers <file.onnx> [--json]";

export interface CommandOutput {
  write(text: string): unknown;
}

function readFloat32(file: string, what: string): Float32Array {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `${what}: cannot read '${file}': ${(e as Error).message}`);
  }
  if (b.byteLength % 4 !== 0) throw new AppError("BAD_USER_INPUT", `${what}: expected raw little-endian float32 (a multiple of 4 bytes); '${file}' has ${b.byteLength} bytes`);
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(4 * i);
  return out;
}

function writeFloat32(file: string, data: Float32Array): void {
  if (endianness() === "LE") {
    writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return;
  }
  const b = Buffer.alloc(data.length * 4);
  data.forEach((v, i) => b.writeFloatLE(v, 4 * i));
  writeFileSync(file, b);
}

function parse(argv: string[], usage: string, options: NonNullable<ParseArgsConfig["options"]>, positionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `${(e as Error).message}\n${usage}`);
  }
}

/** Writes d loss / d input as raw float32 to --out and prints `loss=<value>` as the last line. */
export async function gradCommand(argv: string[], out: CommandOutput = process.stdout): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) return void out.write(`${GRAD_USAGE}\n`);
  const { values } = parse(argv, GRAD_USAGE, {
    model: { type: "string" },
    stage: { type: "string" },
    input: { type: "string" },
    target: { type: "string" },
    natural: { type: "string" },
    "fake-relu": { type: "boolean", default: false },
    loss: { type: "string", default: "normalizedL2" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
  });
  const v = values as Record<string, string | boolean | undefined>;
  for (const k of ["model", "stage", "input", "out"]) {
    if (!v[k]) throw new AppError("BAD_USER_INPUT", `--${k} is required\n${GRAD_USAGE}`);
  }
  if (Boolean(v.target) === Boolean(v.natural)) throw new AppError("BAD_USER_INPUT", `give exactly one of --target and --natural\n${GRAD_USAGE}`);
  if (v.loss !== "normalizedL2" && v.loss !== "mse") throw new AppError("BAD_USER_INPUT", `--loss: expected normalizedL2 or mse, got '${v.loss}'`);
  const modelBytes = new Uint8Array(readFileSync(v.model as string));
  const stage = v.stage as string;
  const x = readFloat32(v.input as string, "--input");
  const session = await GradientSession.create(modelBytes, stage, { fakeRelu: v["fake-relu"] as boolean, loss: v.loss });
  try {
    let target: Float32Array;
    if (v.natural) {
      // the target is the stage activation of the natural input
      const forward = await ForwardSession.create(modelBytes, [stage]);
      try {
        target = (await forward.run(readFloat32(v.natural as string, "--natural")))[stage];
      } finally {
        await forward.release();
      }
    } else target = readFloat32(v.target as string, "--target");
    const { loss, grad } = await session.run(x, target);
    writeFloat32(v.out as string, grad);
    let norm = 0;
    for (const g of grad) norm += g * g;
    if (v.json) {
      return void out.write(`${JSON.stringify({ inputShape: session.inputShape, stage, stageShape: session.stageShape, out: v.out, values: grad.length, gradientNorm: Math.sqrt(norm), loss })}\n`);
    }
    out.write(`input shape [${session.inputShape.join(", ")}], stage '${stage}' shape [${session.stageShape.join(", ")}]\n`);
    out.write(`wrote ${grad.length} float32 values to ${v.out} (gradient L2 norm ${Math.sqrt(norm).toExponential(6)})\n`);
    out.write(`loss=${loss}\n`);
  } finally {
    await session.release();
  }
}

/** Prints the layer catalogue: one line per layer with its shape, producer and differentiability. */
export async function layersCommand(argv: string[], out: CommandOutput = process.stdout): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) return void out.write(`${LAYERS_USAGE}\n`);
  const { positionals, values } = parse(argv, LAYERS_USAGE, { json: { type: "boolean", default: false } }, true);
  if (positionals.length !== 1) throw new AppError("BAD_USER_INPUT", `expected one model file, got ${positionals.length}\n${LAYERS_USAGE}`);
  const { summary, layers } = await inspectModel(new Uint8Array(readFileSync(positionals[0])));
  if (values.json) return void out.write(`${JSON.stringify({ summary, layers })}\n`);
  out.write(
    `input '${summary.inputName}' [${summary.inputShape.join(", ")}], opset ${summary.opset}, ${summary.nodeCount} nodes, ` +
      `outputs ${summary.outputNames.join(", ")}\n`,
  );
  out.write(`${"order".padStart(5)}  ${"differentiable".padEnd(14)}  ${"producer".padEnd(20)}  ${"shape".padEnd(18)}  name\n`);
  for (const l of layers) {
    const missing = l.unsupportedOps.length ? `  (no rule: ${l.unsupportedOps.map((u) => `${u.opType}@${u.nodeName}`).join(", ")})` : "";
    out.write(
      `${String(l.order).padStart(5)}  ${(l.differentiable ? "yes" : "no").padEnd(14)}  ${l.producerOp.padEnd(20)}  ${`[${l.shape.join(",")}]`.padEnd(18)}  ${l.name}${missing}\n`,
    );
  }
  const n = layers.filter((l) => l.differentiable).length;
  out.write(`${n} of ${layers.length} layers differentiable\n`);
}
