// The GraphQL operations the demo makes, in one place so that the demo follows the schema in one edit. Each is the
// call a lab script would make; none reaches past the public API.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { MetamersClient } from "../cli/client.js";
import { REGIMES, trainingEpsilon, type DemoModel } from "./manifest.js";
import type { CrossModelMatrix, CurvePoint } from "./result.js";

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

/**
 * The stimuli of the set called `name` that holds exactly these digits (by file name), or a new set of that name with
 * them. Returned in the order of `digits`.
 */
export async function ensureStimulusSet(client: MetamersClient, name: string, classLabels: string[], digits: DigitFile[], anyModelId: string): Promise<{ setId: string; stimuli: DemoStimulus[] }> {
  const sets = await client.gql<{ stimulusSets: { edges: { node: { id: string; name: string } }[] } }>(
    `query DemoSets { stimulusSets(first: 100) { edges { node { id name } } } }`,
  );
  // Every set of that name is a candidate: an earlier run with other contents may have made one before ours.
  for (const set of sets.stimulusSets.edges.map((e) => e.node).filter((s) => s.name === name)) {
    const existing = await client.gql<{ stimulusSet: { stimuli: { edges: { node: { id: string; label: string; filename: string } }[] } } }>(
      `query DemoSetStimuli($id: ID!) { stimulusSet(id: $id) { stimuli(first: 500) { edges { node { id label filename } } } } }`,
      { id: set.id },
    );
    const byName = new Map(existing.stimulusSet.stimuli.edges.map((e) => [e.node.filename, e.node]));
    if (digits.every((d) => byName.has(digitFilename(d)))) {
      return { setId: set.id, stimuli: digits.map((d) => byName.get(digitFilename(d))!).map((s) => ({ id: s.id, label: s.label })) };
    }
  }
  const created = await client.gql<{ createStimulusSet: { id: string } }>(
    `mutation DemoCreateSet($input: CreateStimulusSetInput!) { createStimulusSet(input: $input) { id } }`,
    { input: { name, modality: "IMAGE", classLabels } },
  );
  const setId = created.createStimulusSet.id;
  const added = await client.gql<{ addStimuli: DemoStimulus[] }>(
    `mutation DemoAddStimuli($input: AddStimuliInput!) { addStimuli(input: $input) { id label } }`,
    {
      input: {
        setId,
        modelId: anyModelId,
        items: digits.map((d) => ({ label: d.label, data: d.png.toString("base64"), filename: digitFilename(d) })),
      },
    },
  );
  return { setId, stimuli: added.addStimuli };
}

/** addStimuli takes at most 1,000 files a request. */
const ADD_CHUNK = 500;

/**
 * The demo's reference set: a set called `name` holding exactly these training digits (found by its size and file
 * names), or a new one, filled 500 files a request. Returns its id.
 */
export async function ensureReferenceSet(client: MetamersClient, name: string, classLabels: string[], digits: DigitFile[], anyModelId: string): Promise<string> {
  const sets = await client.gql<{ stimulusSets: { edges: { node: { id: string; name: string; stimuli: { totalCount: number } } }[] } }>(
    `query DemoReferenceSets { stimulusSets(first: 100) { edges { node { id name stimuli(first: 1) { totalCount } } } } }`,
  );
  // A set of that name and size is a complete earlier upload (the name encodes the digits per class).
  const found = sets.stimulusSets.edges.map((e) => e.node).find((s) => s.name === name && s.stimuli.totalCount === digits.length);
  if (found) return found.id;
  const created = await client.gql<{ createStimulusSet: { id: string } }>(
    `mutation DemoCreateReferenceSet($input: CreateStimulusSetInput!) { createStimulusSet(input: $input) { id } }`,
    { input: { name, modality: "IMAGE", classLabels } },
  );
  const setId = created.createStimulusSet.id;
  for (let i = 0; i < digits.length; i += ADD_CHUNK) {
    await client.gql(
      `mutation DemoAddReference($input: AddStimuliInput!) { addStimuli(input: $input) { id } }`,
      {
        input: {
          setId,
          modelId: anyModelId,
          items: digits.slice(i, i + ADD_CHUNK).map((d) => ({ label: d.label, data: d.png.toString("base64"), filename: `mnist-train-${d.label}-${d.index}.png` })),
        },
      },
    );
  }
  return setId;
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
): Promise<CurvePoint[]> {
  const labelOf = new Map(Object.entries(stageLabels).map(([label, tensor]) => [tensor, label]));
  const data = await client.gql<{ recognizabilityCurve: ApiCurvePoint[] }>(
    `query DemoCurve($modelId: ID!, $observer: RecognitionObserver!, $batchIds: [ID!], $panelId: ID) {
       recognizabilityCurve(modelId: $modelId, observer: $observer, batchIds: $batchIds, panelId: $panelId) { stage natural mean sem n } }`,
    { modelId, observer, batchIds: source.batchIds, panelId: source.panelId },
  );
  // 95% interval from the curve's standard error (normal approximation), clipped to [0, 1].
  return data.recognizabilityCurve.map((p) => ({
    stage: p.natural ? "natural" : labelOf.get(p.stage) ?? p.stage,
    mean: p.mean,
    low: p.sem === null ? null : Math.max(0, p.mean - 1.96 * p.sem),
    high: p.sem === null ? null : Math.min(1, p.mean + 1.96 * p.sem),
    n: p.n,
  }));
}

/** One generator's matrix row per stage (tensor names), in one request. */
export async function stageMatrices(client: MetamersClient, generatorId: string, recognizerIds: string[], tensors: string[], batchIds: string[]) {
  const fields = tensors.map((_, k) => `s${k}: crossModelMatrix(generatorIds: [$g], recognizerIds: $r, stage: $t${k}, batchIds: $b) { recognizerId n }`).join("\n");
  const params = tensors.map((_, k) => `$t${k}: String!`).join(", ");
  const data = await client.gql<Record<string, { recognizerId: string; n: number }[]>>(
    `query DemoStageMatrices($g: ID!, $r: [ID!]!, $b: [ID!], ${params}) { ${fields} }`,
    { g: generatorId, r: recognizerIds, b: batchIds, ...Object.fromEntries(tensors.map((t, k) => [`t${k}`, t])) },
  );
  return tensors.map((_, k) => data[`s${k}`]);
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
