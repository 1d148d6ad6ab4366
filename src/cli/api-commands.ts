// `metamers models ...` and `metamers stimuli ...`: the registry through the GraphQL API.
import { basename } from "node:path";
import { readFile, stat } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AppError } from "../errors.js";
import type { MetamersClient } from "./client.js";
import { UploadProgress } from "./progress.js";
import { MODEL_ADMIN_USAGE, modelsArchive, modelsTag } from "./model-admin-commands.js";

export interface Output {
  write(text: string): unknown;
}

export const MODELS_USAGE = `usage:
  metamers models add <file.onnx> --name <name> [--modality IMAGE|AUDIO] [--labels a,b,c | --labels-file <file>]
                      [--input-range lo,hi] [--sample-rate <Hz>] [--regime STANDARD|ADVERSARIAL|RANDOM_PERTURBATION|OTHER]
                      [--norm <L2|Linf>] [--epsilon <e>] [--stage <label>=<tensor> ...]
                      [--mean m1,m2,m3 --std s1,s2,s3]   input normalization the hub bakes in (torchvision: ImageNet's)
  metamers models list [--name <name>] [--tag <tag,...>] [--archived] [--first <n>]
  metamers models layers <model id> [--differentiable]
${MODEL_ADMIN_USAGE}`;

export const STIMULI_USAGE = `usage:
  metamers stimuli create-set --name <name> [--modality IMAGE|AUDIO] [--labels a,b,c] [--sample-rate <Hz>]
  metamers stimuli add <set id> <files...> --label <label> [--model <model id> | --input-shape 1,3,64,64] [--rms <r>]
  metamers stimuli list <set id> [--first <n>]
  metamers stimuli sets`;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(argv: string[], usage: string, options: NonNullable<ParseArgsConfig["options"]>): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, json: { type: "boolean", default: false } }, allowPositionals: true, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `${(e as Error).message}\n${usage}`);
  }
}

const list = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);
const numbers = (s: string | undefined, what: string) => {
  const parts = list(s)?.map(Number);
  if (parts?.some((n) => !Number.isFinite(n))) throw new AppError("BAD_USER_INPUT", `${what}: expected numbers separated by commas, got '${s}'`);
  return parts;
};
const table = (rows: string[][]): string => {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n") + "\n";
};

/** One subcommand: its arguments after the subcommand's name. */
type Subcommand = (rest: string[], client: MetamersClient, out: Output) => Promise<void>;

/** Runs `argv[0]` from `subcommands`; an unknown or missing one is BAD_USER_INPUT with the usage. */
async function runSubcommand(command: string, usage: string, subcommands: Record<string, Subcommand>, argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub !== undefined && Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!run) throw new AppError("BAD_USER_INPUT", `${command}: unknown subcommand ${sub ? `'${sub}'` : "(none)"}\n${usage}`);
  await run(rest, client, out);
}

export function modelsCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const tag: Subcommand = (rest, c, o) => modelsTag(rest, c, o, MODELS_USAGE);
  const archive: Subcommand = (rest, c, o) => modelsArchive(rest, c, o, MODELS_USAGE);
  return runSubcommand("models", MODELS_USAGE, { add: modelsAdd, list: modelsList, layers: modelsLayers, tag, archive }, argv, client, out);
}

export function stimuliCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  return runSubcommand("stimuli", STIMULI_USAGE, { "create-set": stimuliCreateSet, add: stimuliAdd, list: stimuliList, sets: stimuliSets }, argv, client, out);
}

/** `models add <file.onnx> ...`: registers a model (uploading large files) and prints its layer count. */
async function modelsAdd(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals } = parse(rest, MODELS_USAGE, {
    name: { type: "string" },
    modality: { type: "string", default: "IMAGE" },
    labels: { type: "string" },
    "labels-file": { type: "string" },
    "input-range": { type: "string" },
    "sample-rate": { type: "string" },
    regime: { type: "string" },
    norm: { type: "string" },
    epsilon: { type: "string" },
    stage: { type: "string", multiple: true },
    mean: { type: "string" },
    std: { type: "string" },
  });
  if (positionals.length !== 1) throw new AppError("BAD_USER_INPUT", `models add: expected one .onnx file, got ${positionals.length}\n${MODELS_USAGE}`);
  const { registerModel: m } = await client.gql(
    `mutation($i: RegisterModelInput!) { registerModel(input: $i) { id name version sha256 inputShape layers { name differentiable } } }`,
    { i: await registerModelInput(positionals[0], v, client) },
  );
  if (v.json) return void out.write(JSON.stringify(m) + "\n");
  const differentiable = m.layers.filter((l: { differentiable: boolean }) => l.differentiable).length;
  out.write(
    `registered ${m.name} v${m.version}  id ${m.id}\n  sha256 ${m.sha256}, input [${m.inputShape.join(",")}], ` +
      `${m.layers.length} layers (${differentiable} differentiable)\n`,
  );
}

/** The RegisterModelInput for `file` and the flags of `models add` (the file goes inline or as an upload). */
async function registerModelInput(file: string, v: Values, client: MetamersClient): Promise<Record<string, unknown>> {
  const classLabels = v["labels-file"]
    ? (await readFile(v["labels-file"] as string, "utf8")).split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
    : list(v.labels as string | undefined);
  const stageLabels = stageLabelsOf((v.stage as string[] | undefined) ?? []);
  const [file_] = await uploadAllOf([file], (f, onBytes) => client.fileInput(f, "MODEL", undefined, onBytes));
  return {
    name: (v.name as string | undefined) ?? basename(file).replace(/\.onnx$/i, ""),
    modality: String(v.modality).toUpperCase(),
    ...file_,
    classLabels,
    inputRange: numbers(v["input-range"] as string | undefined, "--input-range"),
    sampleRate: v["sample-rate"] ? Number(v["sample-rate"]) : undefined,
    training: v.regime || v.norm || v.epsilon
      ? { regime: (v.regime as string | undefined)?.toUpperCase(), norm: v.norm, epsilon: v.epsilon ? Number(v.epsilon) : undefined }
      : undefined,
    stageLabels: Object.keys(stageLabels).length ? stageLabels : undefined,
    normalization: normalizationOf(v),
  };
}

/** Reads or uploads each file in turn with a progress bar on stderr (src/cli/progress.ts); the inputs in order. */
async function uploadAllOf<T>(files: string[], send: (file: string, onBytes: (sent: number) => void) => Promise<T>): Promise<T[]> {
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  const progress = new UploadProgress(sizes.reduce((a, b) => a + b, 0), files.length);
  const inputs: T[] = [];
  for (const [i, f] of files.entries()) {
    inputs.push(await send(f, (sent) => progress.bytes(sent)));
    progress.fileDone(sizes[i]);
  }
  return inputs;
}

/** `--mean`/`--std` as registerModel's normalization (both or neither; the server checks counts and values). */
function normalizationOf(v: Values): { mean: number[]; std: number[] } | undefined {
  const mean = numbers(v.mean as string | undefined, "--mean");
  const std = numbers(v.std as string | undefined, "--std");
  if (!mean !== !std) throw new AppError("BAD_USER_INPUT", `models add: expected --mean and --std together, got only ${mean ? "--mean" : "--std"}\n${MODELS_USAGE}`);
  return mean && std ? { mean, std } : undefined;
}

/** `--stage <label>=<tensor>` flags as a map (BAD_USER_INPUT for one without a label or `=`). */
function stageLabelsOf(flags: string[]): Record<string, string> {
  const stageLabels: Record<string, string> = {};
  for (const s of flags) {
    const eq = s.indexOf("=");
    if (eq < 1) throw new AppError("BAD_USER_INPUT", `--stage: expected <label>=<tensor name>, got '${s}'`);
    stageLabels[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return stageLabels;
}

/** `models list [--name] [--first]`: one row per model. */
async function modelsList(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v } = parse(rest, MODELS_USAGE, {
    name: { type: "string" }, tag: { type: "string" }, archived: { type: "boolean", default: false }, first: { type: "string", default: "100" },
  });
  const tags = list(v.tag as string | undefined);
  const filter = { ...(v.name ? { name: v.name } : {}), ...(tags ? { tags } : {}), ...(v.archived ? { archived: true } : {}) };
  const { models } = await client.gql(
    `query($first: Int, $f: ModelFilter) { models(first: $first, filter: $f) { totalCount edges { node { id name version modality inputShape createdAt } } } }`,
    { first: Number(v.first), f: Object.keys(filter).length ? filter : undefined },
  );
  if (v.json) return void out.write(JSON.stringify(models) + "\n");
  const rows = [["id", "name", "version", "modality", "input"]];
  for (const { node: m } of models.edges) rows.push([m.id, m.name, String(m.version), m.modality, `[${m.inputShape.join(",")}]`]);
  out.write(table(rows) + `${models.totalCount} model(s)\n`);
}

/** `models layers <id> [--differentiable]`: the layer catalogue, in graph order. */
async function modelsLayers(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals } = parse(rest, MODELS_USAGE, { differentiable: { type: "boolean", default: false } });
  if (positionals.length !== 1) throw new AppError("BAD_USER_INPUT", `models layers: expected one model id\n${MODELS_USAGE}`);
  const { model } = await client.gql(
    `query($id: ID!) { model(id: $id) { name version layers { order name label shape producerOp differentiable unsupportedOps { opType nodeName } } } }`,
    { id: positionals[0] },
  );
  if (!model) throw new AppError("NOT_FOUND", `no model '${positionals[0]}' visible to this key`);
  const layers = model.layers.filter((l: { differentiable: boolean }) => !v.differentiable || l.differentiable);
  if (v.json) return void out.write(JSON.stringify(layers) + "\n");
  const rows = [["order", "differentiable", "producer", "shape", "label", "name"]];
  for (const l of layers) {
    rows.push([String(l.order), l.differentiable ? "yes" : "no", l.producerOp, `[${l.shape.join(",")}]`, l.label ?? "", l.name]);
  }
  out.write(`${model.name} v${model.version}\n` + table(rows));
}

/** `stimuli create-set --name ...`: a new stimulus set. */
async function stimuliCreateSet(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v } = parse(rest, STIMULI_USAGE, {
    name: { type: "string" },
    modality: { type: "string", default: "IMAGE" },
    labels: { type: "string" },
    "sample-rate": { type: "string" },
  });
  if (!v.name) throw new AppError("BAD_USER_INPUT", `stimuli create-set: --name is required\n${STIMULI_USAGE}`);
  const { createStimulusSet: s } = await client.gql(
    `mutation($i: CreateStimulusSetInput!) { createStimulusSet(input: $i) { id name modality classLabels } }`,
    {
      i: {
        name: v.name,
        modality: String(v.modality).toUpperCase(),
        classLabels: list(v.labels as string | undefined),
        sampleRate: v["sample-rate"] ? Number(v["sample-rate"]) : undefined,
      },
    },
  );
  out.write(v.json ? JSON.stringify(s) + "\n" : `created stimulus set ${s.name}  id ${s.id}\n`);
}

/** `stimuli add <set id> <files...> --label ...`: uploads files into a set as model inputs. */
async function stimuliAdd(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals } = parse(rest, STIMULI_USAGE, {
    label: { type: "string" },
    model: { type: "string" },
    "input-shape": { type: "string" },
    rms: { type: "string" },
  });
  const [setId, ...files] = positionals;
  if (!setId || !files.length) throw new AppError("BAD_USER_INPUT", `stimuli add: expected a set id and at least one file\n${STIMULI_USAGE}`);
  if (!v.label) throw new AppError("BAD_USER_INPUT", `stimuli add: --label is required\n${STIMULI_USAGE}`);
  const inputs = await uploadAllOf(files, (f, onBytes) => client.fileInput(f, "STIMULUS", 4 * 1024 * 1024, onBytes));
  const items = files.map((f, i) => ({ label: v.label, filename: basename(f), ...inputs[i] }));
  const { addStimuli } = await client.gql(
    `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id filename label sha256 shape } }`,
    {
      i: {
        setId,
        items,
        modelId: v.model,
        inputShape: numbers(v["input-shape"] as string | undefined, "--input-shape"),
        rms: v.rms ? Number(v.rms) : undefined,
      },
    },
  );
  if (v.json) return void out.write(JSON.stringify(addStimuli) + "\n");
  const rows = [["id", "label", "shape", "file"]];
  for (const s of addStimuli) rows.push([s.id, s.label, `[${s.shape.join(",")}]`, s.filename]);
  out.write(table(rows) + `added ${addStimuli.length} stimulus file(s)\n`);
}

/** `stimuli list <set id> [--first]`: the set's stimuli. */
async function stimuliList(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals } = parse(rest, STIMULI_USAGE, { first: { type: "string", default: "500" } });
  if (positionals.length !== 1) throw new AppError("BAD_USER_INPUT", `stimuli list: expected one set id\n${STIMULI_USAGE}`);
  const { stimulusSet } = await client.gql(
    `query($id: ID!, $first: Int) { stimulusSet(id: $id) { name stimuli(first: $first) { totalCount edges { node { id label filename shape } } } } }`,
    { id: positionals[0], first: Number(v.first) },
  );
  if (!stimulusSet) throw new AppError("NOT_FOUND", `no stimulus set '${positionals[0]}' visible to this key`);
  if (v.json) return void out.write(JSON.stringify(stimulusSet) + "\n");
  const rows = [["id", "label", "shape", "file"]];
  for (const { node: s } of stimulusSet.stimuli.edges) rows.push([s.id, s.label, `[${s.shape.join(",")}]`, s.filename]);
  out.write(`${stimulusSet.name}\n` + table(rows) + `${stimulusSet.stimuli.totalCount} stimulus file(s)\n`);
}

/** `stimuli sets`: every stimulus set visible to the key. */
async function stimuliSets(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v } = parse(rest, STIMULI_USAGE, {});
  const { stimulusSets } = await client.gql(`{ stimulusSets(first: 500) { edges { node { id name modality classLabels } } } }`);
  if (v.json) return void out.write(JSON.stringify(stimulusSets) + "\n");
  const rows = [["id", "name", "modality", "classes"]];
  for (const { node: s } of stimulusSets.edges) rows.push([s.id, s.name, s.modality, s.classLabels.join(",")]);
  out.write(table(rows));
}
