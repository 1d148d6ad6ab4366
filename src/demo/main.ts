// `npm run demo`: the paper's experiment at small scale, as a client of the service's GraphQL API.
// Registers the demo models (models/demo), adds 10 test digits per class, synthesizes metamers for every model x stage
// (null distributions and cross-model recognition follow as the service's own jobs), then prints the recognizability
// curves and writes demo-report.html. Against a running service (METAMERS_URL / METAMERS_API_KEY, or the local data
// dir's server.json and api-key); if none answers, it starts the embedded one (`npm start`'s entry point) for the run.
// Rerunning reuses everything already there (models by sha256, the stimulus set by name, batches by idempotency key).
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { GraphQLClient } from "./client.js";
import { digitPng, pickTestDigits, readSplit } from "./digits.js";
import { evaluateFindings } from "./findings.js";
import { ProgressBar } from "./progress.js";
import { formatSummary, renderReport } from "./report.js";
import type { CrossModelMatrix, CurvePoint, DemoModelResult, DemoResult, GridMetamer, TrainingRegime } from "./result.js";

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const demoSetName = (perClass: number) => `demo: MNIST test digits, ${perClass} per class`;

interface ManifestModel {
  file: string;
  architectureDescription: string;
  trainingRegime: "standard" | "l2_pgd_adversarial" | "l2_random_perturbation";
  cleanTestAccuracy: number;
  robustTestAccuracy: { accuracy: number; epsilon: number };
  adversarialTraining?: { epsilon: number };
  randomPerturbationTraining?: { epsilon: number };
  stages: Record<string, string>;
}

interface Manifest {
  models: Record<string, ManifestModel>;
  classLabels: string[];
  input: { range: [number, number] };
}

const REGIMES: Record<ManifestModel["trainingRegime"], TrainingRegime> = {
  standard: "STANDARD",
  l2_pgd_adversarial: "ADVERSARIAL",
  l2_random_perturbation: "RANDOM_PERTURBATION",
};

const usage = `usage: npm run demo -- [--full] [--rounds N --steps N] [--per-class N] [--shown N] [--out demo-report.html]
  --full         the paper's schedule (8 rounds x 3000 steps) instead of the demo's 8 x 150
  --per-class    test digits per class to synthesize from (default 10)
  --shown        digits per class shown in the report's grid (default 1)
  --url          service base URL (default METAMERS_URL, the data dir's server.json, or http://127.0.0.1:4000)`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      full: { type: "boolean", default: false },
      rounds: { type: "string" },
      steps: { type: "string" },
      "per-class": { type: "string", default: "10" },
      shown: { type: "string", default: "1" },
      out: { type: "string", default: "demo-report.html" },
      url: { type: "string" },
      models: { type: "string", default: path.join(REPO_ROOT, "models", "demo") },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive integer, got '${v}'\n${usage}`);
    return n;
  };
  return {
    rounds: int("rounds", values.rounds, 8),
    stepsPerRound: int("steps", values.steps, values.full ? 3000 : 150),
    perClass: int("per-class", values["per-class"], 10),
    shown: int("shown", values.shown, 1),
    out: path.resolve(values.out!),
    url: values.url,
    modelsDir: path.resolve(values.models!),
  };
}

// ------------------------------------------------------------------------------------------ the service
interface Service {
  client: GraphQLClient;
  stop(): Promise<void>;
}

function dataDir(): string {
  return path.resolve(process.env.METAMERS_DATA_DIR ?? "./.data");
}

function localApiKey(): string | null {
  if (process.env.METAMERS_API_KEY) return process.env.METAMERS_API_KEY;
  const file = path.join(dataDir(), "api-key");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : null;
}

function configuredUrl(explicit?: string): string {
  if (explicit) return explicit.replace(/\/+$/, "");
  if (process.env.METAMERS_URL) return process.env.METAMERS_URL.replace(/\/+$/, "").replace(/\/graphql$/, "");
  const serverFile = path.join(dataDir(), "server.json");
  if (existsSync(serverFile)) return JSON.parse(readFileSync(serverFile, "utf8")).url;
  return `http://127.0.0.1:${process.env.PORT ?? 4000}`;
}

/** Connects to a running service, or starts `npm start`'s entry point (embedded PostgreSQL + workers) for the run. */
async function connect(explicitUrl?: string): Promise<Service> {
  const url = configuredUrl(explicitUrl);
  const existing = new GraphQLClient(url, localApiKey());
  if (await existing.healthy()) {
    console.log(`using the service at ${url}`);
    return { client: existing, stop: async () => {} };
  }
  console.log(`no service answers at ${url}; starting the embedded one (data in ${dataDir()})`);
  const child: ChildProcess = spawn(process.execPath, ["--import", "@swc-node/register/esm-register", "src/main.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  let exited: number | null = null;
  child.on("exit", (code) => (exited = code ?? 1));
  // The service started here must not outlive the demo, whichever way the demo ends.
  const killChild = () => {
    if (exited === null) child.kill("SIGTERM");
  };
  process.once("exit", killChild);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killChild();
      process.exit(130);
    });
  }
  const started = Date.now();
  const serverFile = path.join(dataDir(), "server.json");
  for (;;) {
    if (exited !== null) throw new Error(`the embedded service exited with code ${exited} before answering`);
    if (Date.now() - started > 120_000) throw new Error("the embedded service did not answer health within 120 s");
    if (existsSync(serverFile)) {
      const { url: childUrl, pid } = JSON.parse(readFileSync(serverFile, "utf8"));
      if (pid === child.pid) {
        const client = new GraphQLClient(childUrl, localApiKey());
        if (await client.healthy()) {
          console.log(`embedded service up at ${childUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return {
            client,
            stop: () =>
              new Promise<void>((resolve) => {
                if (exited !== null) return resolve();
                child.once("exit", () => resolve());
                child.kill("SIGTERM");
              }),
          };
        }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

// ----------------------------------------------------------------------------------------- API calls
interface RegisteredModel {
  id: string;
  name: string;
  sha256: string;
  stageLabels: Record<string, string>;
}

async function registerModels(client: GraphQLClient, manifest: Manifest, modelsDir: string): Promise<Map<string, RegisteredModel>> {
  const out = new Map<string, RegisteredModel>();
  const names = Object.keys(manifest.models);
  const bar = new ProgressBar("registering models", names.length);
  for (const [i, name] of names.entries()) {
    const entry = manifest.models[name];
    const bytes = readFileSync(path.join(modelsDir, entry.file));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const found = await client.request<{ models: { edges: { node: RegisteredModel }[] } }>(
      `query DemoFindModel($name: String) { models(first: 50, filter: { name: $name }) { edges { node { id name sha256 stageLabels } } } }`,
      { name },
    );
    let model = found.models.edges.map((e) => e.node).find((m) => m.sha256 === sha256 && m.name === name);
    if (!model) {
      const epsilon = entry.adversarialTraining?.epsilon ?? entry.randomPerturbationTraining?.epsilon ?? null;
      const data = await client.request<{ registerModel: RegisteredModel }>(
        `mutation DemoRegisterModel($input: RegisterModelInput!) { registerModel(input: $input) { id name sha256 stageLabels } }`,
        {
          input: {
            name,
            modality: "IMAGE",
            data: bytes.toString("base64"),
            classLabels: manifest.classLabels,
            inputRange: manifest.input.range,
            training: { regime: REGIMES[entry.trainingRegime], norm: epsilon !== null ? "L2" : null, epsilon },
            stageLabels: entry.stages,
          },
        },
      );
      model = data.registerModel;
    }
    out.set(name, model);
    bar.update(i + 1, name);
  }
  bar.finish();
  return out;
}

interface DemoStimulus {
  id: string;
  label: string;
}

async function ensureStimulusSet(client: GraphQLClient, manifest: Manifest, digits: { label: string; png: Buffer; index: number }[], anyModelId: string): Promise<DemoStimulus[]> {
  const sets = await client.request<{ stimulusSets: { edges: { node: { id: string; name: string } }[] } }>(
    `query DemoSets { stimulusSets(first: 100) { edges { node { id name } } } }`,
  );
  const name = demoSetName(digits.length / manifest.classLabels.length);
  let setId = sets.stimulusSets.edges.map((e) => e.node).find((s) => s.name === name)?.id;
  if (setId) {
    const existing = await client.request<{ stimulusSet: { stimuli: { edges: { node: { id: string; label: string; filename: string } }[] } } }>(
      `query DemoSetStimuli($id: ID!) { stimulusSet(id: $id) { stimuli(first: 500) { edges { node { id label filename } } } } }`,
      { id: setId },
    );
    const byName = new Map(existing.stimulusSet.stimuli.edges.map((e) => [e.node.filename, e.node]));
    if (digits.every((d) => byName.has(digitFilename(d)))) {
      return digits.map((d) => byName.get(digitFilename(d))!).map((s) => ({ id: s.id, label: s.label }));
    }
    setId = undefined; // a set of that name with other contents (another per-class count): make a fresh one
  }
  const created = await client.request<{ createStimulusSet: { id: string } }>(
    `mutation DemoCreateSet($input: CreateStimulusSetInput!) { createStimulusSet(input: $input) { id } }`,
    { input: { name, modality: "IMAGE", classLabels: manifest.classLabels } },
  );
  setId = created.createStimulusSet.id;
  const added = await client.request<{ addStimuli: { id: string; label: string }[] }>(
    `mutation DemoAddStimuli($input: AddStimuliInput!) { addStimuli(input: $input) { id label } }`,
    {
      input: {
        setId,
        modelId: anyModelId,
        items: digits.map((d) => ({ label: d.label, data: d.png.toString("base64"), filename: digitFilename(d) })),
      },
    },
  );
  return added.addStimuli;
}

const digitFilename = (d: { label: string; index: number }) => `mnist-test-${d.label}-${d.index}.png`;

// The synthesis API (issue 4). Kept in one place so that the demo follows the schema in one edit.
interface JobView {
  id: string;
  stage: string;
  status: string;
  stimulus: { id: string } | null;
  metamer: { id: string } | null;
}

interface MetamerView {
  id: string;
  passed: boolean;
  renderingUrl: string;
}

async function startSynthesis(client: GraphQLClient, modelId: string, stages: string[], stimulusIds: string[], schedule: { rounds: number; stepsPerRound: number }, key: string): Promise<string> {
  const data = await client.request<{ synthesizeMetamers: { id: string } }>(
    `mutation DemoSynthesize($input: SynthesizeMetamersInput!) { synthesizeMetamers(input: $input) { id } }`,
    {
      input: {
        modelId,
        stages,
        stimulusIds,
        config: { recipe: "FEATHER_2023", rounds: schedule.rounds, stepsPerRound: schedule.stepsPerRound, initialStep: 1 },
        seed: 0,
        idempotencyKey: key,
      },
    },
  );
  return data.synthesizeMetamers.id;
}

async function batchCounts(client: GraphQLClient, id: string) {
  const data = await client.request<{ synthesisBatch: { counts: { queued: number; running: number; succeeded: number; failed: number; cancelled: number } } }>(
    `query DemoBatch($id: ID!) { synthesisBatch(id: $id) { counts { queued running succeeded failed cancelled } } }`,
    { id },
  );
  return data.synthesisBatch.counts;
}

async function batchJobs(client: GraphQLClient, id: string): Promise<JobView[]> {
  const jobs: JobView[] = [];
  const page = 1000;
  for (let offset = 0; ; offset += page) {
    const data = await client.request<{ synthesisBatch: { jobs: JobView[] } }>(
      `query DemoBatchJobs($id: ID!, $first: Int, $offset: Int) { synthesisBatch(id: $id) {
        jobs(first: $first, offset: $offset) { id stage status stimulus { id } metamer { id } } } }`,
      { id, first: page, offset },
    );
    jobs.push(...data.synthesisBatch.jobs);
    if (data.synthesisBatch.jobs.length < page) return jobs;
  }
}

/** Metamer details, many per request (GraphQL aliases), so thousands of metamers cost a few round trips. */
async function metamerViews(client: GraphQLClient, ids: string[]): Promise<Map<string, MetamerView>> {
  const out = new Map<string, MetamerView>();
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    const fields = chunk.map((_, k) => `m${k}: metamer(id: $id${k}) { id passed renderingUrl }`).join("\n");
    const variables = Object.fromEntries(chunk.map((id, k) => [`id${k}`, id]));
    const params = chunk.map((_, k) => `$id${k}: ID!`).join(", ");
    const data = await client.request<Record<string, MetamerView | null>>(`query DemoMetamers(${params}) { ${fields} }`, variables);
    for (const m of Object.values(data)) if (m) out.set(m.id, m);
  }
  return out;
}

interface ApiCurvePoint {
  stage: string;
  natural: boolean;
  mean: number;
  sem: number | null;
  n: number;
}

async function curve(client: GraphQLClient, modelId: string, observer: "GENERATOR" | "OTHER_MODELS", stageLabels: Record<string, string>): Promise<CurvePoint[]> {
  const labelOf = new Map(Object.entries(stageLabels).map(([label, tensor]) => [tensor, label]));
  const data = await client.request<{ recognizabilityCurve: ApiCurvePoint[] }>(
    `query DemoCurve($modelId: ID!, $observer: RecognitionObserver!) { recognizabilityCurve(modelId: $modelId, observer: $observer) { stage natural mean sem n } }`,
    { modelId, observer },
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
async function stageMatrices(client: GraphQLClient, generatorId: string, recognizerIds: string[], tensors: string[]) {
  const fields = tensors.map((_, k) => `s${k}: crossModelMatrix(generatorIds: [$g], recognizerIds: $r, stage: $t${k}) { recognizerId n }`).join("\n");
  const params = tensors.map((_, k) => `$t${k}: String!`).join(", ");
  const data = await client.request<Record<string, { recognizerId: string; n: number }[]>>(
    `query DemoStageMatrices($g: ID!, $r: [ID!]!, ${params}) { ${fields} }`,
    { g: generatorId, r: recognizerIds, ...Object.fromEntries(tensors.map((t, k) => [`t${k}`, t])) },
  );
  return tensors.map((_, k) => data[`s${k}`]);
}

async function crossModel(client: GraphQLClient, names: string[], ids: string[]): Promise<CrossModelMatrix> {
  const data = await client.request<{ crossModelMatrix: { generatorId: string; recognizerId: string; accuracy: number; n: number }[] }>(
    `query DemoMatrix($ids: [ID!]!) { crossModelMatrix(generatorIds: $ids, recognizerIds: $ids, stage: "FINAL") { generatorId recognizerId accuracy n } }`,
    { ids },
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

// --------------------------------------------------------------------------------------------- main
async function main(): Promise<void> {
  const options = parseOptions();
  const t0 = performance.now();
  const manifest: Manifest = JSON.parse(readFileSync(path.join(options.modelsDir, "manifest.json"), "utf8"));
  const split = readSplit(options.modelsDir);
  const digits = await Promise.all(
    pickTestDigits(split, options.perClass).map(async (d) => ({ ...d, png: await digitPng(d.pixels) })),
  );
  const service = await connect(options.url);
  try {
    const { client } = service;
    const models = await registerModels(client, manifest, options.modelsDir);
    const names = [...models.keys()];
    const stimuli = await ensureStimulusSet(client, manifest, digits, models.get(names[0])!.id);
    const schedule = { rounds: options.rounds, stepsPerRound: options.stepsPerRound };

    // One batch per model (every stage x every digit); the idempotency key makes a rerun find the same batch.
    const batches = new Map<string, string>();
    for (const name of names) {
      const model = models.get(name)!;
      const stages = Object.keys(manifest.models[name].stages);
      const key = `demo:${model.sha256.slice(0, 16)}:${createHash("sha256").update(stimuli.map((s) => s.id).join(",")).digest("hex").slice(0, 16)}:${schedule.rounds}x${schedule.stepsPerRound}`;
      batches.set(name, await startSynthesis(client, model.id, stages, stimuli.map((s) => s.id), schedule, key));
    }
    const totalJobs = names.reduce((acc, n) => acc + Object.keys(manifest.models[n].stages).length * stimuli.length, 0);
    const bar = new ProgressBar(`synthesizing ${schedule.rounds}x${schedule.stepsPerRound}`, totalJobs);
    for (;;) {
      let done = 0;
      let failed = 0;
      let running = 0;
      for (const id of batches.values()) {
        const c = await batchCounts(client, id);
        done += c.succeeded + c.failed + c.cancelled;
        failed += c.failed;
        running += c.running;
      }
      const elapsed = (performance.now() - t0) / 1000;
      bar.update(done, `${running} running, ${failed} failed, ${elapsed.toFixed(0)} s`);
      if (done >= totalJobs) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    bar.finish();

    // Every model classifies every validated metamer (RECOGNITION jobs). The service enqueues them as metamers
    // finish; recognizeBacklog also covers models registered after some metamers existed (pairs are judged once).
    const ids = names.map((n) => models.get(n)!.id);
    const jobsByModel = new Map<string, JobView[]>();
    for (const name of names) jobsByModel.set(name, await batchJobs(client, batches.get(name)!));
    const metamers = await metamerViews(client, [...jobsByModel.values()].flat().flatMap((j) => (j.metamer ? [j.metamer.id] : [])));
    const passed = (j: JobView) => (j.metamer ? metamers.get(j.metamer.id)?.passed ?? false : false);
    for (const id of ids) {
      await client.request(`mutation DemoBacklog($id: ID!) { recognizeBacklog(modelId: $id) }`, { id });
    }
    // Expected judgements: every recognizer x every validated metamer of every (generator, stage).
    const expected = names.map((name) =>
      Object.values(manifest.models[name].stages).map((tensor) => jobsByModel.get(name)!.filter((j) => j.stage === tensor && passed(j)).length),
    );
    const totalJudgements = expected.flat().reduce((a, b) => a + b, 0) * ids.length;
    const recBar = new ProgressBar("cross-model recognition", totalJudgements);
    for (let polls = 0; ; polls++) {
      let judged = 0;
      for (const [g, name] of names.entries()) {
        const tensors = Object.values(manifest.models[name].stages);
        const cells = await stageMatrices(client, models.get(name)!.id, ids, tensors);
        tensors.forEach((_, s) => (judged += cells[s].reduce((acc, c) => acc + Math.min(c.n, expected[g][s]), 0)));
      }
      recBar.update(judged);
      if (judged >= totalJudgements) break;
      if (polls > 900) throw new Error(`recognition did not finish: ${judged} of ${totalJudgements} judgements after ${polls} polls`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    recBar.finish();
    const matrix = await crossModel(client, names, ids);

    const shownDigits = digits.filter((_, k) => k % options.perClass < options.shown);
    const results: DemoModelResult[] = [];
    for (const name of names) {
      const entry = manifest.models[name];
      const model = models.get(name)!;
      const jobs = jobsByModel.get(name)!;
      const stageOf = (job: JobView) => Object.entries(entry.stages).find(([label, tensor]) => job.stage === label || job.stage === tensor)?.[0] ?? job.stage;
      const stageLabels = Object.keys(entry.stages);
      const validation = stageLabels.map((stage) => {
        const js = jobs.filter((j) => stageOf(j) === stage);
        return { stage, passed: js.filter(passed).length, total: js.length };
      });
      const grid: GridMetamer[] = [];
      for (const [column, d] of shownDigits.entries()) {
        const stimulusId = stimuli[digits.indexOf(d)].id;
        for (const stage of stageLabels) {
          const job = jobs.find((j) => j.stimulus?.id === stimulusId && stageOf(j) === stage);
          const view = job?.metamer ? metamers.get(job.metamer.id) : undefined;
          if (!view) continue;
          const png = await client.download(view.renderingUrl);
          grid.push({ stage, digit: column, png: png.toString("base64"), passed: view.passed });
        }
      }
      results.push({
        name,
        description: entry.architectureDescription,
        regime: REGIMES[entry.trainingRegime],
        epsilon: entry.adversarialTraining?.epsilon ?? entry.randomPerturbationTraining?.epsilon ?? null,
        cleanAccuracy: entry.cleanTestAccuracy,
        robustAccuracy: entry.robustTestAccuracy?.accuracy ?? null,
        stages: stageLabels,
        generatorCurve: await curve(client, model.id, "GENERATOR", entry.stages),
        otherModelsCurve: await curve(client, model.id, "OTHER_MODELS", entry.stages),
        validation,
        metamers: grid,
      });
    }

    const result: DemoResult = {
      title: "Metamer Hub demo: model metamers of MNIST classifiers",
      createdAt: new Date().toISOString(),
      serviceUrl: client.baseUrl,
      schedule,
      elapsedSeconds: (performance.now() - t0) / 1000,
      classLabels: manifest.classLabels,
      digits: shownDigits.map((d) => ({ label: d.label, png: d.png.toString("base64") })),
      models: results,
      crossModel: matrix,
      findings: evaluateFindings(results),
    };
    console.log(formatSummary(result));
    await writeFile(options.out, renderReport(result));
    console.log(`report: ${options.out} (${result.elapsedSeconds!.toFixed(0)} s in all)`);
  } finally {
    await service.stop();
  }
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
