// `metamers export <table>`: the bulk CSV exports (GET /export/<table>.csv, src/server/export.ts) to a file or stdout;
// `metamers export` alone lists the tables and their parameters (GET /export). The flags are the tables' query
// parameters under the CLI's usual names; --param passes any other one through.
import { writeFile } from "node:fs/promises";
import type { MetamersClient } from "./client.js";
import { emit, listOf, parseCommand, table, usageError, type Output } from "./output.js";

export const EXPORT_USAGE = `usage:
  metamers export                      the tables, their parameters and columns
  metamers export <table> [--out <file.csv>] [parameters]   the CSV (stdout without --out)
      tables: cross-model-matrix, recognizability-curve, idiosyncrasy-points, human-scores, model-trials
      parameters: --model <id> (modelId) --models <id,...> (modelIds) --generator <id> (generatorId)
        --generators <id,...> (generatorIds) --recognizers <id,...> (recognizerIds) --recognizer <id> (recognizerId)
        --observer <O> --stage <tensor or label> --modality VISION|AUDIO --exclude <glob,...> (excludeStages)
        --panel <id> (panelId) --batch <id,...> (batchIds) --config <hash> (configHash) --pool (poolConfigurations=true)
        --param <name>=<value> (any other; repeatable)
  --json: with --out, a summary { table, file, rows, bytes }; without, the table list or { table, csv }`;

/** CLI flag -> the export route's query parameter. */
const PARAMS: Record<string, string> = {
  model: "modelId", models: "modelIds", generator: "generatorId", generators: "generatorIds", recognizers: "recognizerIds",
  recognizer: "recognizerId", observer: "observer", stage: "stage", modality: "modality", exclude: "excludeStages",
  panel: "panelId", batch: "batchIds", config: "configHash",
};

export async function exportCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  const options = Object.fromEntries(Object.keys(PARAMS).map((k) => [k, { type: "string" as const, multiple: true }]));
  const { values: v, positionals, json } = parseCommand(argv, EXPORT_USAGE, {
    ...options, out: { type: "string" }, pool: { type: "boolean", default: false }, param: { type: "string", multiple: true },
  });
  if (positionals.length > 1) throw usageError(`export: expected one table name, got ${positionals.join(" ")}`, EXPORT_USAGE);
  const text = async (url: string) => (await client.download(url)).toString("utf8");
  if (!positionals.length) {
    const { tables } = JSON.parse(await text(`${client.url}/export`)) as { tables: { path: string; params: string; columns: string[]; description: string }[] };
    return emit(out, json, tables, () => table([["table", "parameters", "description"], ...tables.map((t) => [t.path.replace(/^\/export\/|\.csv$/g, ""), t.params, t.description])]));
  }
  const [name] = positionals;
  if (!/^[a-z-]+$/.test(name)) throw usageError(`export: expected a table name such as cross-model-matrix, got '${name}'`, EXPORT_USAGE);
  const query = new URLSearchParams();
  for (const [flag, param] of Object.entries(PARAMS)) {
    const values = listOf(v[flag]);
    if (values) query.set(param, values.join(","));
  }
  if (v.pool) query.set("poolConfigurations", "true");
  for (const p of (v.param as string[] | undefined) ?? []) {
    const eq = p.indexOf("=");
    if (eq < 1) throw usageError(`--param: expected <name>=<value>, got '${p}'`, EXPORT_USAGE);
    query.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const csv = await text(`${client.url}/export/${name}.csv${query.size ? `?${query}` : ""}`);
  if (v.out) {
    await writeFile(String(v.out), csv);
    const rows = csv.trimEnd().split("\n").length - 1;
    return emit(out, json, { table: name, file: v.out, rows, bytes: Buffer.byteLength(csv) }, () => `wrote ${rows} row(s) of ${name} to ${v.out}\n`);
  }
  emit(out, json, { table: name, csv }, () => csv);
}
