// The GraphQL operations the demo makes, in one place so that the demo follows the schema in one edit. Each is the
// call a lab script would make; none reaches past the public API.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ApiError, type MetamersClient } from "../cli/client.js";
import { REGIMES, trainingEpsilon, type DemoModel } from "./manifest.js";
import { parseCsv, type Trial } from "./paired.js";
import type { CrossModelMatrix, CurvePoint, PairedTestSummary } from "./result.js";

export interface RegisteredModel {
  id: string;
  name: string;
  sha256: string;
  stageLabels: Record<string, string>;
}

/** The model of that name and file (by sha256) if the caller's group has it, else a new registration. */
export async function ensureModel(client: MetamersClient, model: DemoModel, modelsDir: string, classLabels: string[], inputRange: [number, number]): Promise<RegisteredModel> {
  const bytes = readFileSync(path.join(modelsDir, model.entry.file));
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const found = await client.gql<{ models: { edges: { node: RegisteredModel }[] } }>(
    `query DemoFindModel($name: String) { models(first: 50, filter: { name: $name }) { edges { node { id name sha256 stageLabels } } } }`,
    { name: model.name },
  );
  const existing = found.models.edges.map((e) => e.node).find((m) => m.sha256 === sha256 && m.name === model.name);
  if (existing) return existing;
  const epsilon = trainingEpsilon(model.entry);
  const data = await client.gql<{ registerModel: RegisteredModel }>(
    `mutation DemoRegisterModel($input: RegisterModelInput!) { registerModel(input: $input) { id name sha256 stageLabels } }`,
    {
      input: {
        name: model.name,
        modality: "IMAGE",
        data: bytes.toString("base64"),
        classLabels,
        inputRange,
        training: { regime: REGIMES[model.entry.trainingRegime], norm: epsilon !== null ? "L2" : null, epsilon },
        // Every stage label of the model, not only the run's: a later run with more stages finds the same model.
        stageLabels: model.entry.stages,
      },
    },
  );
  return data.registerModel;
}

export interface DemoStimulus {
  id: string;
  label: string;
}

export interface DigitFile {
  label: string;
  index: number;
  png: Buffer;
}

export const digitFilename = (d: { label: string; index: number }) => `mnist-test-${d.label}-${d.index}.png`;

/** addStimuli takes at most 1,000 files a request. */
const ADD_CHUNK = 500;
/** Stimuli read a page. */
const LIST_PAGE = 500;

interface SetFile {
  label: string;
  filename: string;
  png: Buffer;
}

/**
 * The set called `name` (a group holds one set of a name) holding at least `files` (by file name): found, created, or
 * topped up with the files it lacks, 500 a request, so an interrupted upload resumes where it stopped. Returns the
 * set's id and its stimuli by file name.
 */
async function ensureSetWith(client: MetamersClient, name: string, classLabels: string[], files: SetFile[], anyModelId: string): Promise<{ setId: string; byFilename: Map<string, DemoStimulus> }> {
  let setId: string | undefined;
  for (let after: string | null = null; setId === undefined; ) {
    type Sets = { stimulusSets: { edges: { node: { id: string; name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const sets: Sets = await client.gql<Sets>(
      `query DemoSets($after: String) { stimulusSets(first: 100, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    setId = sets.stimulusSets.edges.find((e) => e.node.name === name)?.node.id;
    if (!sets.stimulusSets.pageInfo.hasNextPage) break;
    after = sets.stimulusSets.pageInfo.endCursor;
  }
  const byFilename = new Map<string, DemoStimulus>();
  if (setId) {
    for (let after: string | null = null; ; ) {
      type Page = { stimulusSet: { stimuli: { edges: { node: { id: string; label: string; filename: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } };
      const page: Page = await client.gql<Page>(
        `query DemoSetStimuli($id: ID!, $after: String, $first: Int) { stimulusSet(id: $id) { stimuli(first: $first, after: $after) { edges { node { id label filename } } pageInfo { hasNextPage endCursor } } } }`,
        { id: setId, after, first: LIST_PAGE },
      );
      for (const { node } of page.stimulusSet.stimuli.edges) byFilename.set(node.filename, { id: node.id, label: node.label });
      if (!page.stimulusSet.stimuli.pageInfo.hasNextPage) break;
      after = page.stimulusSet.stimuli.pageInfo.endCursor;
    }
  } else {
    const created = await client.gql<{ createStimulusSet: { id: string } }>(
      `mutation DemoCreateSet($input: CreateStimulusSetInput!) { createStimulusSet(input: $input) { id } }`,
      { input: { name, modality: "IMAGE", classLabels } },
    );
    setId = created.createStimulusSet.id;
  }
  const missing = files.filter((f) => !byFilename.has(f.filename));
  for (let i = 0; i < missing.length; i += ADD_CHUNK) {
    const chunk = missing.slice(i, i + ADD_CHUNK);
    const added = await client.gql<{ addStimuli: DemoStimulus[] }>(
      `mutation DemoAddStimuli($input: AddStimuliInput!) { addStimuli(input: $input) { id label } }`,
      { input: { setId, modelId: anyModelId, items: chunk.map((f) => ({ label: f.label, data: f.png.toString("base64"), filename: f.filename })) } },
    );
    added.addStimuli.forEach((s, k) => byFilename.set(chunk[k].filename, s));
  }
  return { setId, byFilename };
}

/** The stimuli of the set called `name` holding these test digits (found, created or topped up), in the order of `digits`. */
export async function ensureStimulusSet(client: MetamersClient, name: string, classLabels: string[], digits: DigitFile[], anyModelId: string): Promise<{ setId: string; stimuli: DemoStimulus[] }> {
  const files = digits.map((d) => ({ label: d.label, filename: digitFilename(d), png: d.png }));
  const { setId, byFilename } = await ensureSetWith(client, name, classLabels, files, anyModelId);
  return { setId, stimuli: files.map((f) => byFilename.get(f.filename)!) };
}

/** The demo's reference set: the set called `name` holding these training digits (found, created or topped up). Returns its id. */
export async function ensureReferenceSet(client: MetamersClient, name: string, classLabels: string[], digits: DigitFile[], anyModelId: string): Promise<string> {
  const files = digits.map((d) => ({ label: d.label, filename: `mnist-train-${d.label}-${d.index}.png`, png: d.png }));
  return (await ensureSetWith(client, name, classLabels, files, anyModelId)).setId;
}

/** A model-level reference null: the reference set, n pairs, seed 0, no augmentation (the digits are already varied). */
export interface DemoNullSource {
  setId: string;
  n: number;
}

export interface JobView {
  id: string;
  stage: string;
  status: string;
  stimulus: { id: string } | null;
  metamer: { id: string } | null;
}

export interface MetamerView {
  id: string;
  passed: boolean;
  renderingUrl: string;
}

export interface Schedule {
  rounds: number;
  stepsPerRound: number;
}

/** One batch: every stage x every stimulus, FEATHER_2023 recipe, seed 0; `key` makes a rerun get the same batch. */
export async function startSynthesis(
  client: MetamersClient,
  modelId: string,
  stages: string[],
  stimulusIds: string[],
  schedule: Schedule,
  key: string,
  nullSource: DemoNullSource | null = null,
): Promise<string> {
  const data = await client.gql<{ synthesizeMetamers: { id: string } }>(
    `mutation DemoSynthesize($input: SynthesizeMetamersInput!) { synthesizeMetamers(input: $input) { id } }`,
    {
      input: {
        modelId,
        stages,
        stimulusIds,
        config: { recipe: "FEATHER_2023", rounds: schedule.rounds, stepsPerRound: schedule.stepsPerRound, initialStep: 1 },
        seed: 0,
        idempotencyKey: key,
        ...(nullSource ? { nullSource: { setId: nullSource.setId, n: nullSource.n, seed: 0 } } : {}),
      },
    },
  );
  return data.synthesizeMetamers.id;
}

export interface BatchCounts {
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export async function batchCounts(client: MetamersClient, id: string): Promise<BatchCounts> {
  const data = await client.gql<{ synthesisBatch: { counts: BatchCounts } }>(
    `query DemoBatch($id: ID!) { synthesisBatch(id: $id) { counts { queued running succeeded failed cancelled } } }`,
    { id },
  );
  return data.synthesisBatch.counts;
}

export async function batchJobs(client: MetamersClient, id: string): Promise<JobView[]> {
  const jobs: JobView[] = [];
  const page = 1000;
  for (let offset = 0; ; offset += page) {
    const data = await client.gql<{ synthesisBatch: { jobs: JobView[] } }>(
      `query DemoBatchJobs($id: ID!, $first: Int, $offset: Int) { synthesisBatch(id: $id) {
        jobs(first: $first, offset: $offset) { id stage status stimulus { id } metamer { id } } } }`,
      { id, first: page, offset },
    );
    jobs.push(...data.synthesisBatch.jobs);
    if (data.synthesisBatch.jobs.length < page) return jobs;
  }
}

/** Metamer details, many per request (GraphQL aliases), so thousands of metamers cost a few round trips. */
export async function metamerViews(client: MetamersClient, ids: string[]): Promise<Map<string, MetamerView>> {
  const out = new Map<string, MetamerView>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const fields = chunk.map((_, k) => `m${k}: metamer(id: $id${k}) { id passed renderingUrl }`).join("\n");
    const variables = Object.fromEntries(chunk.map((id, k) => [`id${k}`, id]));
    const params = chunk.map((_, k) => `$id${k}: ID!`).join(", ");
    const data = await client.gql<Record<string, MetamerView | null>>(`query DemoMetamers(${params}) { ${fields} }`, variables);
    for (const m of Object.values(data)) if (m) out.set(m.id, m);
  }
  return out;
}

/** Asks the service to have `modelId` classify every metamer and natural stimulus of the group it has not judged. */
export async function recognizeBacklog(client: MetamersClient, modelId: string): Promise<void> {
  await client.gql(`mutation DemoBacklog($id: ID!) { recognizeBacklog(modelId: $id) }`, { id: modelId });
}

interface ApiCurvePoint {
  stage: string;
  natural: boolean;
  mean: number;
  sem: number | null;
  n: number;
}

/**
 * Which results the demo reads: its own batches (so another configuration of the same models, e.g. a `--full` run,
 * never mixes in) and its panel of recognizers (so other models of the group cannot change its numbers).
 */
export interface DemoSource {
  batchIds: string[];
  panelId: string;
}

/** The demo's recognizer panel: exactly its models (a rerun with the same models finds the same version). */
export async function demoPanel(client: MetamersClient, modelIds: string[]): Promise<string> {
  const data = await client.gql<{ createRecognizerPanel: { id: string } }>(
    `mutation DemoPanel($ids: [ID!]!) { createRecognizerPanel(name: "demo", modelIds: $ids) { id } }`,
    { ids: modelIds },
  );
  return data.createRecognizerPanel.id;
}

/** A recognizability curve with stage labels for tensor names and a 95% interval. */
export async function curve(
  client: MetamersClient,
  modelId: string,
  observer: "GENERATOR" | "OTHER_MODELS",
  stageLabels: Record<string, string>,
  source: DemoSource,
  validatedN: (stage: string) => number,
): Promise<CurvePoint[]> {
  const labelOf = new Map(Object.entries(stageLabels).map(([label, tensor]) => [tensor, label]));
  const data = await client.gql<{ recognizabilityCurve: ApiCurvePoint[] }>(
    `query DemoCurve($modelId: ID!, $observer: RecognitionObserver!, $batchIds: [ID!], $panelId: ID) {
       recognizabilityCurve(modelId: $modelId, observer: $observer, batchIds: $batchIds, panelId: $panelId) { stage natural mean sem n } }`,
    { modelId, observer, batchIds: source.batchIds, panelId: source.panelId },
  );
  // 95% interval from the curve's standard error (normal approximation), clipped to [0, 1]. n: the validated metamers
  // behind the point (the API's n counts recognizers for OTHER_MODELS).
  return data.recognizabilityCurve.map((p) => {
    const stage = p.natural ? "natural" : labelOf.get(p.stage) ?? p.stage;
    return {
      stage,
      mean: p.mean,
      low: p.sem === null ? null : Math.max(0, p.mean - 1.96 * p.sem),
      high: p.sem === null ? null : Math.min(1, p.mean + 1.96 * p.sem),
      n: validatedN(stage),
    };
  });
}

/**
 * How many of this run's recognitions each recognizer has made of one generator's validated metamers, per stage
 * (tensor name), and of the natural digits those metamers came from ("natural"): one MODEL curve per recognizer, in
 * one request. Only the given batches count, so metamers of other runs never make a run look finished.
 */
export async function recognitionCounts(client: MetamersClient, generatorId: string, recognizerIds: string[], batchIds: string[]): Promise<Map<string, Map<string, number>>> {
  const fields = recognizerIds
    .map((_, k) => `r${k}: recognizabilityCurve(modelId: $g, observer: MODEL, recognizerId: $r${k}, batchIds: $b) { stage natural n }`)
    .join("\n");
  const params = recognizerIds.map((_, k) => `$r${k}: ID!`).join(", ");
  const data = await client.gql<Record<string, { stage: string; natural: boolean; n: number }[]>>(
    `query DemoRecognitionCounts($g: ID!, $b: [ID!], ${params}) { ${fields} }`,
    { g: generatorId, b: batchIds, ...Object.fromEntries(recognizerIds.map((id, k) => [`r${k}`, id])) },
  );
  return new Map(recognizerIds.map((id, k) => [id, new Map(data[`r${k}`].map((p) => [p.natural ? "natural" : p.stage, p.n]))]));
}

/** Every recognition of one generator's metamers in the given batches (GET /export/model-trials.csv). */
export async function modelTrials(client: MetamersClient, generatorId: string, batchIds: string[]): Promise<Trial[]> {
  const query = new URLSearchParams({ generatorId, batchIds: batchIds.join(",") });
  const csv = parseCsv((await client.download(`${client.url}/export/model-trials.csv?${query}`)).toString("utf8"));
  const [header, ...rows] = csv;
  const col = (name: string) => {
    const i = header?.indexOf(name) ?? -1;
    if (i < 0) throw new ApiError(`model-trials.csv: expected a column '${name}', got ${header?.join(",") ?? "nothing"}`, "BAD_RESPONSE");
    return i;
  };
  const [recognizer, metamer, correct] = [col("recognizer_id"), col("metamer"), col("correct")];
  return rows.filter((r) => r.length === header.length).map((r) => ({ recognizerId: r[recognizer], metamerId: r[metamer], correct: r[correct] === "true" }));
}

/** The service's paired test of per-digit differences (sign-flip permutation p, bootstrap 95% CI of the mean). */
export async function pairedTest(client: MetamersClient, differences: number[], seed = 0): Promise<PairedTestSummary> {
  const data = await client.gql<{ pairedDifferenceTest: { n: number; meanDifference: number; low: number; high: number; p: number; exact: boolean; permutations: number } }>(
    `query DemoPairedTest($d: [Float!]!, $seed: Int!) {
       pairedDifferenceTest(differences: $d, permutations: 10000, resamples: 1000, seed: $seed) { n meanDifference low high p exact permutations } }`,
    { d: differences, seed },
  );
  const r = data.pairedDifferenceTest;
  return { n: r.n, estimate: r.meanDifference, low: r.low, high: r.high, p: r.p, exact: r.exact, permutations: r.permutations };
}

/** Every recognizer's accuracy on every generator's final-stage metamers. */
export async function crossModel(client: MetamersClient, names: string[], ids: string[], source: DemoSource): Promise<CrossModelMatrix> {
  const data = await client.gql<{ crossModelMatrix: { generatorId: string; recognizerId: string; accuracy: number; n: number }[] }>(
    `query DemoMatrix($ids: [ID!]!, $batchIds: [ID!], $panelId: ID) {
       crossModelMatrix(generatorIds: $ids, panelId: $panelId, stage: "FINAL", batchIds: $batchIds) { generatorId recognizerId accuracy n } }`,
    { ids, batchIds: source.batchIds, panelId: source.panelId },
  );
  const values = ids.map(() => ids.map((): number | null => null));
  const n = ids.map(() => ids.map(() => 0));
  for (const cell of data.crossModelMatrix) {
    const i = ids.indexOf(cell.generatorId);
    const j = ids.indexOf(cell.recognizerId);
    if (i >= 0 && j >= 0) {
      values[i][j] = cell.accuracy;
      n[i][j] = cell.n;
    }
  }
  return { stage: "final", generators: names, recognizers: names, values, n };
}
