// `metamers metamers list|get`: metamers through the GraphQL API (the `metamers` connection and its filter grammar),
// and their files through the /blobs routes: `get` writes each metamer's rendering (PNG or WAV), float32 tensor and
// validation certificate (JSON) into a folder with an index.csv, one row per metamer.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { AppError } from "../errors.js";
import type { MetamersClient } from "./client.js";
import {
  booleanOf, defined, emit, instantOf, integerOf, listOf, parseCommand, runSubcommand, table, usageError, type Output, type Values,
} from "./output.js";

export const METAMERS_USAGE = `usage:
  metamers metamers list [filters] [--oldest-first] [--first <n>] [--after <cursor>]
  metamers metamers get [<metamer id> ...] [filters] --out <dir> [--files rendering,tensor,certificate] [--max <n>]
      writes <id>.png|.wav (rendering), <id>.f32 (float32 tensor, little-endian, model input shape) and
      <id>.certificate.json per metamer, and index.csv (id, model, stage, stageLabel, stimulus, label, seed, passed,
      rendering, tensor, certificate); with ids, only those metamers; else every metamer the filters select (at most --max, default 1000)
  filters (ANDed; a list flag matches any of its values):
      --model <id,...> --stage <tensor or label,...> (needs --model) --set <stimulus set id,...> --batch <id,...>
      --label <class,...> --passed true|false --seed <n,...> --config <hash,...>
      --created-after <ISO time> --created-before <ISO time>
  every subcommand takes --json (one JSON value on stdout)`;

const FILTER_OPTIONS = {
  model: { type: "string", multiple: true },
  stage: { type: "string", multiple: true },
  set: { type: "string", multiple: true },
  batch: { type: "string", multiple: true },
  label: { type: "string", multiple: true },
  passed: { type: "string" },
  seed: { type: "string", multiple: true },
  config: { type: "string", multiple: true },
  "created-after": { type: "string" },
  "created-before": { type: "string" },
  "oldest-first": { type: "boolean", default: false },
} as const;

const METAMER_FIELDS = `id stage stageLabel seed passed batchId configHash createdAt renderingUrl renderingSha256 tensorUrl sha256
  model { id name modality } stimulus { id label filename }`;

const CERTIFICATE = `validation {
  similarity { spearman pearson snr } metrics { metric value nullMax passed uninformative }
  nullPairs nullSeed nullMaxima { spearman pearson snr } nullSource { kind referenceNullId setId n seed }
  passedNull uninformative underpowered naturalLabel metamerLabel passedLabel passed }`;

interface MetamerRow {
  id: string;
  stage: string;
  stageLabel: string | null;
  seed: number;
  passed: boolean;
  batchId: string | null;
  configHash: string;
  createdAt: string;
  renderingUrl: string;
  renderingSha256: string;
  tensorUrl: string;
  sha256: string;
  model: { id: string; name: string; modality: string } | null;
  stimulus: { id: string; label: string; filename: string } | null;
  validation?: unknown;
}

export function metamersCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  return runSubcommand("metamers", METAMERS_USAGE, { list, get }, argv, client, out);
}

/** The MetamerFilter the flags describe (undefined when none was given). */
function filterOf(v: Values): Record<string, unknown> | undefined {
  const seeds = listOf(v.seed)?.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw usageError(`--seed: expected non-negative integers separated by commas, got '${s}'`, METAMERS_USAGE);
    return n;
  });
  const filter = defined({
    modelIds: listOf(v.model),
    stages: listOf(v.stage),
    stimulusSetIds: listOf(v.set),
    batchIds: listOf(v.batch),
    labels: listOf(v.label),
    passed: booleanOf("passed", v.passed, METAMERS_USAGE),
    seeds,
    configHashes: listOf(v.config),
    createdAfter: instantOf("created-after", v["created-after"], METAMERS_USAGE),
    createdBefore: instantOf("created-before", v["created-before"], METAMERS_USAGE),
  });
  if (filter.stages && !filter.modelIds) throw usageError("--stage: expected --model too (stages are names within models), got --stage alone", METAMERS_USAGE);
  return Object.keys(filter).length ? filter : undefined;
}

const QUERY = (fields: string) => `query CliMetamers($f: MetamerFilter, $first: Int, $after: String, $order: ListOrder!) {
  metamers(filter: $f, first: $first, after: $after, order: $order) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${fields} } } } }`;

async function list(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, METAMERS_USAGE, { ...FILTER_OPTIONS, first: { type: "string" }, after: { type: "string" } });
  if (positionals.length) throw usageError(`metamers list: expected only flags, got ${positionals.join(" ")}`, METAMERS_USAGE);
  const { metamers: c } = await client.gql(QUERY(METAMER_FIELDS), {
    f: filterOf(v),
    first: integerOf("first", v.first, METAMERS_USAGE, 1, 500),
    after: v.after,
    order: v["oldest-first"] ? "OLDEST_FIRST" : "NEWEST_FIRST",
  });
  const metamers = c.edges.map((e: { node: MetamerRow }) => e.node) as MetamerRow[];
  emit(out, json, { totalCount: c.totalCount, pageInfo: c.pageInfo, metamers }, () => {
    const rows = [["id", "model", "stage", "label", "stimulus", "class", "seed", "passed", "batch"]];
    for (const m of metamers) {
      rows.push([m.id, m.model?.name ?? "", m.stage, m.stageLabel ?? "", m.stimulus?.filename ?? "", m.stimulus?.label ?? "", String(m.seed), m.passed ? "yes" : "no", m.batchId ?? ""]);
    }
    const more = c.pageInfo.hasNextPage ? ` (more: --after ${c.pageInfo.endCursor})` : "";
    return table(rows) + `${metamers.length} of ${c.totalCount} metamer(s)${more}\n`;
  });
}

const FILES = ["rendering", "tensor", "certificate"] as const;

/** The metamers `get` downloads: the ids given (each must be visible), else every match of the filters up to `max`. */
async function selected(client: MetamersClient, ids: string[], v: Values, max: number): Promise<MetamerRow[]> {
  const fields = `${METAMER_FIELDS} ${CERTIFICATE}`;
  if (ids.length) {
    const rows: MetamerRow[] = [];
    for (const id of ids) {
      const { metamer } = await client.gql(`query CliMetamer($id: ID!) { metamer(id: $id) { ${fields} } }`, { id });
      if (!metamer) throw new AppError("NOT_FOUND", `metamers get: no metamer '${id}' visible to this key`);
      rows.push(metamer);
    }
    return rows;
  }
  const f = filterOf(v);
  if (!f) throw usageError("metamers get: expected metamer ids or at least one filter flag, got neither (every metamer of the hub is rarely meant)", METAMERS_USAGE);
  const rows: MetamerRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { metamers: c }: { metamers: any } = await client.gql(QUERY(fields), { f, first: Math.min(100, max - rows.length), after, order: v["oldest-first"] ? "OLDEST_FIRST" : "NEWEST_FIRST" });
    rows.push(...c.edges.map((e: { node: MetamerRow }) => e.node));
    if (rows.length >= max && c.pageInfo.hasNextPage) {
      throw usageError(`metamers get: the filters select ${c.totalCount} metamers, more than --max ${max}; narrow them or raise --max`, METAMERS_USAGE);
    }
    if (!c.pageInfo.hasNextPage) return rows;
    after = c.pageInfo.endCursor;
  }
}

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

async function get(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, METAMERS_USAGE, {
    ...FILTER_OPTIONS,
    out: { type: "string" },
    files: { type: "string" },
    max: { type: "string" },
  });
  if (!v.out) throw usageError("metamers get: expected --out <dir>, got none", METAMERS_USAGE);
  const files = listOf(v.files) ?? [...FILES];
  for (const f of files) if (!(FILES as readonly string[]).includes(f)) throw usageError(`--files: expected some of ${FILES.join(", ")}, got '${f}'`, METAMERS_USAGE);
  const max = integerOf("max", v.max, METAMERS_USAGE, 1, 100_000) ?? 1000;
  const metamers = await selected(client, positionals, v, max);
  const dir = String(v.out);
  await mkdir(dir, { recursive: true });
  const index = [["id", "model", "stage", "stageLabel", "stimulus", "label", "seed", "passed", "rendering", "tensor", "certificate"]];
  const written: { id: string; rendering: string | null; tensor: string | null; certificate: string | null }[] = [];
  for (const m of metamers) {
    // Audio renderings are WAV, images PNG (the server's renderings: src/engine/media). Fetched from the server the
    // CLI talks to by sha256 (GET /blobs/<sha256>), not from the URLs, which name the server's own public address.
    const rendering = files.includes("rendering") ? `${m.id}.${m.model?.modality === "AUDIO" ? "wav" : "png"}` : null;
    const tensor = files.includes("tensor") ? `${m.id}.f32` : null;
    const certificate = files.includes("certificate") ? `${m.id}.certificate.json` : null;
    if (rendering) await writeFile(path.join(dir, rendering), await client.download(m.renderingSha256));
    if (tensor) await writeFile(path.join(dir, tensor), await client.download(m.sha256));
    if (certificate) await writeFile(path.join(dir, certificate), JSON.stringify({ metamerId: m.id, ...(m.validation as object) }, null, 2) + "\n");
    index.push([m.id, m.model?.name ?? "", m.stage, m.stageLabel ?? "", m.stimulus?.filename ?? "", m.stimulus?.label ?? "", String(m.seed), String(m.passed), rendering ?? "", tensor ?? "", certificate ?? ""]);
    written.push({ id: m.id, rendering, tensor, certificate });
  }
  const indexFile = path.join(dir, "index.csv");
  await writeFile(indexFile, index.map((r) => r.map(csvCell).join(",")).join("\n") + "\n");
  emit(out, json, { dir, index: indexFile, metamers: written }, () => `wrote ${metamers.length} metamer(s) to ${dir} (index: ${indexFile})\n`);
}
