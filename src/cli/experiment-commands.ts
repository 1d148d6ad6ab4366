// `metamers experiments create|status|results|import`: human experiments through the GraphQL API (createExperiment,
// experiment, experimentResults, importExperimentResponses, importProlificDemographics). Files are read and written
// here, on the lab's machine; the server only ever sees their contents.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { AppError } from "../errors.js";
import type { Output } from "./api-commands.js";
import type { MetamersClient } from "./client.js";

export const EXPERIMENTS_USAGE = `usage: metamers experiments <create|status|results|import|close> ...
  create --name <name> --set <stimulus set id> --batches <id,id,...> --participants <n>
         [--options <a,b,...> | --label-map <file.json>] [--seed <n>] [--timing <file.json>]
         [--practice <n>] [--demo <n>] [--min-correct <n>] [--catch <n>] [--catch-threshold <0..1>]
         [--headphone <n>] [--headphone-min-correct <n>] [--instructions <file>] [--consent <file>]
         [--completion-url <url>] [--completion-code <code>] [--screened-out-url <url>] [--screened-out-code <code>]
         [--links <file.csv>]
      designs the experiment and prints one JSON line (with entryUrl: one URL for all participants, e.g. Prolific's
      study URL); the participation links (label,url; the tokens are shown only now) go to --links
      (default ./experiment-<id>-links.csv, mode 0600)
  close <experiment id>           no new participant may start (those under way may finish)
  status <experiment id>          participants by status; each participant's progress and exclusion reason
  results <experiment id> [--out <dir>]   writes trials.csv and aggregate.csv (default: the current directory)
  import <experiment id> <file> [--format jspsych-json|jspsych-csv|psychojs-csv] [--column <field>=<name> ...]
         [--response-as-index] [--rt-unit ms|s]
      trial data run elsewhere (format from the extension: .json jsPsych JSON, .csv jsPsych CSV); fields:
      participant, trialIndex, response, rt, onsetMs, offsetMs, stimulusFrames, refreshHz
  import <experiment id> --prolific <demographics.csv>   a Prolific demographic export, joined on Prolific ids`;

const bad = (message: string) => new AppError("BAD_USER_INPUT", `${message}\n${EXPERIMENTS_USAGE}`);

function parse<O extends Record<string, { type: "string" | "boolean"; multiple?: boolean }>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw bad((e as Error).message);
  }
}

function integer(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw bad(`--${name}: expected an integer, got '${v}'`);
  return n;
}

async function readText(name: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw bad(`--${name}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

async function readJson(name: string, file: string | undefined): Promise<unknown> {
  const text = await readText(name, file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(`--${name}: ${file} is not JSON (${(e as Error).message})`);
  }
}

const CREATE = `mutation($i: CreateExperimentInput!) { createExperiment(input: $i) {
  experiment { id name modality mainTrials conditions { condition stage minPerParticipant maxPerParticipant total shownNatural } }
  links { label url } entryUrl } }`;

async function create(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v } = parse(argv, {
    name: { type: "string" }, set: { type: "string" }, batches: { type: "string" }, participants: { type: "string" },
    options: { type: "string" }, "label-map": { type: "string" }, seed: { type: "string" }, timing: { type: "string" },
    practice: { type: "string" }, demo: { type: "string" }, "min-correct": { type: "string" }, catch: { type: "string" },
    "catch-threshold": { type: "string" }, headphone: { type: "string" }, "headphone-min-correct": { type: "string" },
    instructions: { type: "string" }, consent: { type: "string" }, "completion-url": { type: "string" }, "completion-code": { type: "string" },
    "screened-out-url": { type: "string" }, "screened-out-code": { type: "string" }, links: { type: "string" },
  });
  for (const required of ["name", "set", "batches", "participants"] as const) {
    if (!v[required]) throw bad(`experiments create: --${required} is required`);
  }
  const threshold = v["catch-threshold"] === undefined ? undefined : Number(v["catch-threshold"]);
  if (threshold !== undefined && !Number.isFinite(threshold)) throw bad(`--catch-threshold: expected a number from 0 to 1, got '${v["catch-threshold"]}'`);
  const input = {
    name: v.name, stimulusSetId: v.set, batchIds: v.batches!.split(",").map((s) => s.trim()).filter(Boolean),
    participants: integer("participants", v.participants),
    responseOptions: v.options?.split(",").map((s) => s.trim()),
    labelMap: await readJson("label-map", v["label-map"]),
    timing: await readJson("timing", v.timing),
    seed: integer("seed", v.seed), practiceTrials: integer("practice", v.practice), demoTrials: integer("demo", v.demo),
    minDemoCorrect: integer("min-correct", v["min-correct"]), catchTrials: integer("catch", v.catch), catchThreshold: threshold,
    headphoneTrials: integer("headphone", v.headphone), headphoneMinCorrect: integer("headphone-min-correct", v["headphone-min-correct"]),
    instructions: await readText("instructions", v.instructions), consent: await readText("consent", v.consent),
    completionUrl: v["completion-url"], completionCode: v["completion-code"], screenedOutUrl: v["screened-out-url"], screenedOutCode: v["screened-out-code"],
  };
  const { createExperiment } = await client.gql(CREATE, { i: input });
  const { experiment, links, entryUrl } = createExperiment as { experiment: { id: string }; links: { label: string; url: string }[]; entryUrl: string };
  const file = v.links ?? `experiment-${experiment.id}-links.csv`;
  // The links carry the tokens, shown only now: written for the lab alone.
  await writeFile(file, `participant,url\n${links.map((l) => `${l.label},${l.url}`).join("\n")}\n`, { mode: 0o600 });
  out.write(`${JSON.stringify({ ...experiment, links: links.length, linksFile: file, entryUrl })}\n`);
}

const STATUS = `query($id: ID!) { experiment(id: $id) { id name modality status statusCounts { pending started completed excluded }
  participants { label status answered trialCount exclusionReason prolificPid startedAt completedAt } } }`;

async function status(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const { positionals } = parse(argv, {});
  if (positionals.length !== 1) throw bad(`experiments status: expected one experiment id, got ${positionals.length} arguments`);
  const { experiment } = await client.gql(STATUS, { id: positionals[0] });
  out.write(`${JSON.stringify(experiment)}\n`);
}

async function results(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const { positionals, values } = parse(argv, { out: { type: "string" } });
  if (positionals.length !== 1) throw bad(`experiments results: expected one experiment id, got ${positionals.length} arguments`);
  const { experimentResults: r } = await client.gql(`query($id: ID!) { experimentResults(id: $id) { experimentId studyId trialsCsv aggregateCsv } }`, { id: positionals[0] });
  const dir = values.out ?? ".";
  await mkdir(dir, { recursive: true });
  const trials = path.join(dir, "trials.csv");
  const aggregate = path.join(dir, "aggregate.csv");
  await writeFile(trials, r.trialsCsv);
  await writeFile(aggregate, r.aggregateCsv);
  const rows = (csv: string) => csv.trimEnd().split("\n").length - 1;
  out.write(`${JSON.stringify({ experimentId: r.experimentId, studyId: r.studyId, trials, trialRows: rows(r.trialsCsv), aggregate, aggregateRows: rows(r.aggregateCsv) })}\n`);
}

const FORMATS: Record<string, string> = { "jspsych-json": "JSPSYCH_JSON", "jspsych-csv": "JSPSYCH_CSV", "psychojs-csv": "PSYCHOJS_CSV" };
const FIELDS = ["participant", "trialIndex", "response", "rt", "onsetMs", "offsetMs", "stimulusFrames", "refreshHz"];

async function importData(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const { positionals, values } = parse(argv, {
    format: { type: "string" }, column: { type: "string", multiple: true }, "response-as-index": { type: "boolean" },
    "rt-unit": { type: "string" }, prolific: { type: "string" },
  });
  const [id, file, ...extra] = positionals;
  if (!id) throw bad("experiments import: expected the experiment id, got nothing");
  if (extra.length) throw bad(`experiments import: unexpected arguments ${extra.join(" ")}`);
  if (values.prolific) {
    if (file) throw bad("experiments import: --prolific takes the demographics file; give no other file");
    const csv = (await readText("prolific", values.prolific))!;
    const { importProlificDemographics } = await client.gql(`mutation($e: ID!, $c: String!) { importProlificDemographics(experimentId: $e, csv: $c) { matched unmatched } }`, { e: id, c: csv });
    return void out.write(`${JSON.stringify(importProlificDemographics)}\n`);
  }
  if (!file) throw bad("experiments import: expected the data file, got nothing");
  const formatName = values.format ?? (file.toLowerCase().endsWith(".json") ? "jspsych-json" : "jspsych-csv");
  const format = FORMATS[formatName];
  if (!format) throw bad(`--format: expected one of ${Object.keys(FORMATS).join(", ")}, got '${formatName}'`);
  const columns: Record<string, string> = {};
  for (const c of values.column ?? []) {
    const [field, name] = [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)];
    if (!c.includes("=") || !FIELDS.includes(field) || name === "") throw bad(`--column: expected <field>=<column name> with a field of ${FIELDS.join(", ")}, got '${c}'`);
    columns[field] = name;
  }
  const rtUnit = values["rt-unit"]?.toUpperCase();
  if (rtUnit !== undefined && rtUnit !== "MS" && rtUnit !== "S") throw bad(`--rt-unit: expected ms or s, got '${values["rt-unit"]}'`);
  const data = (await readText("file", file))!;
  const { importExperimentResponses } = await client.gql(
    `mutation($i: ImportExperimentResponsesInput!) { importExperimentResponses(input: $i) { participants responses completed excluded skippedRows } }`,
    { i: { experimentId: id, format, data, columns, responseAsIndex: values["response-as-index"] ?? false, rtUnit } },
  );
  out.write(`${JSON.stringify(importExperimentResponses)}\n`);
}

export async function experimentsCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return create(rest, client, out);
    case "status":
      return status(rest, client, out);
    case "results":
      return results(rest, client, out);
    case "import":
      return importData(rest, client, out);
    case "close": {
      const { positionals } = parse(rest, {});
      if (positionals.length !== 1) throw bad(`experiments close: expected one experiment id, got ${positionals.length} arguments`);
      const { closeExperiment } = await client.gql(`mutation($id: ID!) { closeExperiment(id: $id) { id status } }`, { id: positionals[0] });
      return void out.write(`${JSON.stringify(closeExperiment)}\n`);
    }
    default:
      throw bad(`experiments: expected create, status, results, import or close, got ${sub ? `'${sub}'` : "nothing"}`);
  }
}
