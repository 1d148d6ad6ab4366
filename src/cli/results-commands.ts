// `metamers results curve|matrix|idiosyncrasy`: the recognizability results through the GraphQL API
// (recognizabilityCurve, crossModelMatrix, idiosyncrasy), as a table or --json. The result-source flags
// (--panel, --batch, --config, --pool) pass through to the queries unchanged, so the CLI reads exactly what the API does.
import type { MetamersClient } from "./client.js";
import { choiceOf, defined, emit, integerOf, listOf, parseCommand, runSubcommand, table, usageError, type Output, type Values } from "./output.js";

export const RESULTS_USAGE = `usage:
  metamers results curve --model <id> [--observer OTHER_MODELS|GENERATOR|HUMAN|MODEL] [--recognizer <id>] [--stage <tensor or label,...>]
  metamers results matrix --generators <id,...> [--recognizers <id,...>] [--stage <tensor or label>|FINAL]
  metamers results idiosyncrasy --modality VISION|AUDIO [--study <id>] [--exclude <glob,...>] [--resamples <n>] [--seed <n>]
  each takes the result source: [--panel <recognizer panel id>] [--batch <id,...> | --config <hash>] [--pool]
  curve: one row per stage (natural stimuli first; --stage keeps those stages); observer default OTHER_MODELS
  every subcommand takes --json (one JSON value on stdout)`;

const SOURCE_OPTIONS = {
  panel: { type: "string" },
  batch: { type: "string", multiple: true },
  config: { type: "string" },
  pool: { type: "boolean", default: false },
} as const;

const OBSERVERS = ["HUMAN", "GENERATOR", "OTHER_MODELS", "MODEL"] as const;

/** The source arguments every result query takes, from the flags. */
function sourceOf(v: Values) {
  return defined({ panelId: v.panel as string | undefined, batchIds: listOf(v.batch), configHash: v.config as string | undefined, poolConfigurations: v.pool === true });
}

const num = (x: number | null | undefined, digits = 3) => (x == null ? "" : x.toFixed(digits));

export function resultsCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  return runSubcommand("results", RESULTS_USAGE, { curve, matrix, idiosyncrasy }, argv, client, out);
}

async function curve(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, RESULTS_USAGE, {
    ...SOURCE_OPTIONS, model: { type: "string" }, observer: { type: "string" }, recognizer: { type: "string" }, stage: { type: "string", multiple: true },
  });
  if (positionals.length) throw usageError(`results curve: expected only flags, got ${positionals.join(" ")}`, RESULTS_USAGE);
  if (!v.model) throw usageError("results curve: expected --model <id>, got none", RESULTS_USAGE);
  const observer = choiceOf("observer", v.observer, OBSERVERS, RESULTS_USAGE) ?? "OTHER_MODELS";
  const { recognizabilityCurve: points } = await client.gql(
    `query CliCurve($m: ID!, $o: RecognitionObserver!, $r: ID, $panelId: ID, $batchIds: [ID!], $configHash: String, $poolConfigurations: Boolean! = false) {
      recognizabilityCurve(modelId: $m, observer: $o, recognizerId: $r, panelId: $panelId, batchIds: $batchIds, configHash: $configHash, poolConfigurations: $poolConfigurations) {
        stage stageLabel order natural mean sem n configHashes recognizerIds recognizerCount panelId } }`,
    { m: v.model, o: observer, r: v.recognizer, ...sourceOf(v) },
  );
  type Point = { stage: string; stageLabel: string | null; natural: boolean; mean: number; sem: number | null; n: number; recognizerCount: number; configHashes: string[] };
  const wanted = listOf(v.stage);
  const shown = (points as Point[]).filter((p) => !wanted || wanted.includes(p.stage) || (p.stageLabel !== null && wanted.includes(p.stageLabel)));
  if (wanted) {
    const known = new Set((points as Point[]).flatMap((p) => [p.stage, p.stageLabel]));
    const unknown = wanted.filter((s) => !known.has(s));
    if (unknown.length) {
      const stages = (points as Point[]).map((p) => (p.stageLabel ? `${p.stageLabel} (${p.stage})` : p.stage)).join(", ");
      throw usageError(`--stage: no point for ${unknown.map((s) => `'${s}'`).join(", ")} in this curve; its stages: ${stages || "none (no results yet)"}`, RESULTS_USAGE);
    }
  }
  emit(out, json, shown, () => {
    const rows = [["stage", "label", "mean", "sem", "n", "recognizers", "configs"]];
    for (const p of shown) rows.push([p.natural ? "natural" : p.stage, p.stageLabel ?? "", num(p.mean), num(p.sem), String(p.n), String(p.recognizerCount), String(p.configHashes.length)]);
    return `${observer} recognizability of model ${v.model}${v.panel ? `, panel ${v.panel}` : ""}\n` + table(rows);
  });
}

async function matrix(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, RESULTS_USAGE, {
    ...SOURCE_OPTIONS, generators: { type: "string", multiple: true }, recognizers: { type: "string", multiple: true }, stage: { type: "string" },
  });
  if (positionals.length) throw usageError(`results matrix: expected only flags, got ${positionals.join(" ")}`, RESULTS_USAGE);
  const generatorIds = listOf(v.generators);
  if (!generatorIds) throw usageError("results matrix: expected --generators <id,...>, got none", RESULTS_USAGE);
  const { crossModelMatrix: cells } = await client.gql(
    `query CliMatrix($g: [ID!]!, $r: [ID!], $stage: String! = "FINAL", $panelId: ID, $batchIds: [ID!], $configHash: String, $poolConfigurations: Boolean! = false) {
      crossModelMatrix(generatorIds: $g, recognizerIds: $r, stage: $stage, panelId: $panelId, batchIds: $batchIds, configHash: $configHash, poolConfigurations: $poolConfigurations) {
        generatorId recognizerId stage stageLabel accuracy n configHashes } }`,
    { g: generatorIds, r: listOf(v.recognizers), stage: v.stage, ...sourceOf(v) },
  );
  type Cell = { generatorId: string; recognizerId: string; stage: string; stageLabel: string | null; accuracy: number; n: number };
  emit(out, json, cells, () => {
    const rows = [["generator", "recognizer", "stage", "label", "accuracy", "n"]];
    for (const c of cells as Cell[]) rows.push([c.generatorId, c.recognizerId, c.stage, c.stageLabel ?? "", num(c.accuracy), String(c.n)]);
    return table(rows) + `${cells.length} cell(s)\n`;
  });
}

async function idiosyncrasy(rest: string[], client: MetamersClient, out: Output): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, RESULTS_USAGE, {
    ...SOURCE_OPTIONS, modality: { type: "string" }, study: { type: "string" }, exclude: { type: "string", multiple: true }, resamples: { type: "string" }, seed: { type: "string" },
  });
  if (positionals.length) throw usageError(`results idiosyncrasy: expected only flags, got ${positionals.join(" ")}`, RESULTS_USAGE);
  const modality = choiceOf("modality", v.modality, ["VISION", "AUDIO"], RESULTS_USAGE);
  if (!modality) throw usageError("results idiosyncrasy: expected --modality VISION|AUDIO, got none", RESULTS_USAGE);
  const { idiosyncrasy: r } = await client.gql(
    `query CliIdiosyncrasy($modality: StudyModality!, $studyId: ID, $exclude: [String!], $resamples: Int! = 1000, $seed: Int! = 0, $panelId: ID, $batchIds: [ID!], $configHash: String, $poolConfigurations: Boolean! = false) {
      idiosyncrasy(modality: $modality, studyId: $studyId, excludeStages: $exclude, resamples: $resamples, seed: $seed, panelId: $panelId, batchIds: $batchIds, configHash: $configHash, poolConfigurations: $poolConfigurations) {
        spearmanRho pearsonR r2 kendallTau n ci95 { low high } excludeStages configHashes recognizerIds recognizerCount panelId
        points { modelId model stage stageLabel human otherModels recognizerCount } } }`,
    {
      modality, studyId: v.study, exclude: listOf(v.exclude),
      resamples: integerOf("resamples", v.resamples, RESULTS_USAGE, 0, 1_000_000), seed: integerOf("seed", v.seed, RESULTS_USAGE, 0, 2 ** 31 - 1), ...sourceOf(v),
    },
  );
  type Point = { model: string; stage: string; stageLabel: string | null; human: number; otherModels: number; recognizerCount: number };
  emit(out, json, r, () => {
    const rows = [["model", "stage", "label", "human", "other models", "recognizers"]];
    for (const p of r.points as Point[]) rows.push([p.model, p.stage, p.stageLabel ?? "", num(p.human), num(p.otherModels), String(p.recognizerCount)]);
    return (
      `Spearman rho ${num(r.spearmanRho)} (95% CI ${num(r.ci95.low)} to ${num(r.ci95.high)}), Pearson r ${num(r.pearsonR)}, r2 ${num(r.r2)}, Kendall tau ${num(r.kendallTau)}, ` +
      `${r.n} point(s), ${r.recognizerCount} recognizer(s)${r.panelId ? ` of panel ${r.panelId}` : ""}\n` + table(rows)
    );
  });
}
