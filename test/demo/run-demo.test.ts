// runDemo on a tiny configuration (2 demo models x 2 stages x 2 digits, 4 rounds x 60 steps) against a real test
// server whose jobs run on an in-process worker: what the demo registers, synthesizes and reports, checked against
// the API independently, and a rerun that reuses everything. Which metamers pass validation after 5 steps is up to the
// models; the expectations follow from the verdicts the API reports (only validated metamers are recognized).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetamersClient } from "../../src/cli/client.js";
import type { ProgressEvent } from "../../src/demo/progress.js";
import { formatSummary } from "../../src/demo/report.js";
import { runDemo, type DemoOptions, type DemoRun } from "../../src/demo/run.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { inProcessWorker } from "../helpers/synthesis-fixtures.js";

const MANIFEST = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../models/demo/manifest.json"), "utf8")) as {
  models: Record<string, { stages: Record<string, string> }>;
};
/** Two stages spread over each model: its first and its final one. */
const STAGES = {
  mlp: ["fc1_relu", "final"],
  lenet: ["conv1_relu", "final"],
};

let t: TestApp;
let key: string;
let worker: ReturnType<typeof inProcessWorker>;
let dir: string;
// The worker runs jobs in this process while runDemo polls the API, as a worker pool would beside the server.
let draining = true;
let drainError: unknown;
let drainLoop: Promise<void>;

beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("demo-lab", "ADMIN"));
  worker = inProcessWorker(t);
  dir = mkdtempSync(path.join(tmpdir(), "run-demo-"));
  drainLoop = (async () => {
    while (draining) {
      try {
        if ((await worker.drain()).length === 0) await new Promise((r) => setTimeout(r, 50));
      } catch (e) {
        drainError = e;
        return;
      }
    }
  })();
}, 60_000);

afterAll(async () => {
  draining = false;
  await drainLoop;
  await worker?.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const options = (out: string, events: ProgressEvent[]): DemoOptions => ({
  models: ["mlp", "lenet"],
  stagesPerModel: 2,
  perClass: 1,
  classes: ["3", "7"],
  shown: 1,
  schedule: { rounds: 4, stepsPerRound: 60 },
  out,
  pollMs: 100,
  recognitionTimeoutMs: 60_000,
  progress: (e) => events.push(e),
  // A small reference set and null keep the test fast; the demo's default is all 8,000 training digits, 100,000 pairs.
  reference: { perClass: 20, pairs: 2_000 },
});

interface ApiJob {
  stage: string;
  status: string;
  stimulus: { id: string; label: string } | null;
  metamer: { id: string } | null;
}

async function batchJobs(batchId: string): Promise<ApiJob[]> {
  const r = await t.gql<{ synthesisBatch: { jobs: ApiJob[] } }>(
    `query($id: ID!) { synthesisBatch(id: $id) { jobs { stage status stimulus { id label } metamer { id } } } }`,
    { id: batchId },
    key,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.synthesisBatch.jobs;
}

async function passedOf(metamerId: string): Promise<boolean> {
  const r = await t.gql<{ metamer: { passed: boolean } }>(`query($id: ID!) { metamer(id: $id) { passed } }`, { id: metamerId }, key);
  return r.data!.metamer.passed;
}

describe("runDemo on 2 models x 2 stages x 2 digits", () => {
  let first: DemoRun;
  const events: ProgressEvent[] = [];

  it("registers the models, synthesizes every model x stage x digit, waits for recognition and writes the report", async () => {
    const out = path.join(dir, "report.html");
    first = await runDemo(options(out, events), new MetamersClient(t.url, key));
    expect(drainError).toBeUndefined();

    // The models, registered under the demo names with every stage label of the manifest.
    const listed = await t.gql<{ models: { totalCount: number; edges: { node: { id: string; name: string; stageLabels: Record<string, string> } }[] } }>(
      `{ models(first: 10) { totalCount edges { node { id name stageLabels } } } }`,
      {},
      key,
    );
    expect(listed.data!.models.totalCount).toBe(2);
    for (const { node } of listed.data!.models.edges) {
      expect(first.models[node.name].id).toBe(node.id);
      expect(node.stageLabels).toEqual(MANIFEST.models[node.name].stages);
    }

    // One metamer per model x stage x digit (digits: the first test digit of classes 3 and 7).
    const stimuli = await t.gql<{ stimulusSet: { name: string; stimuli: { edges: { node: { id: string; label: string } }[] } } }>(
      `query($id: ID!) { stimulusSet(id: $id) { name stimuli(first: 10) { edges { node { id label } } } } }`,
      { id: first.stimulusSetId },
      key,
    );
    expect(stimuli.data!.stimulusSet.name).toBe("demo: MNIST test digits, 1 per class of 3,7");
    expect(stimuli.data!.stimulusSet.stimuli.edges.map((e) => e.node.label).sort()).toEqual(["3", "7"]);
    const stimulusIds = stimuli.data!.stimulusSet.stimuli.edges.map((e) => e.node.id).sort();

    const passedByModel: Record<string, number[]> = {};
    /** Digits with a validated metamer at both of the model's stages: the units of its first-vs-final test. */
    const bothStages: Record<string, number> = {};
    /** Stimuli with at least one validated metamer of the model: the natural point is their recognition. */
    const naturalByModel: Record<string, number> = {};
    for (const [name, stages] of Object.entries(STAGES)) {
      const jobs = await batchJobs(first.batches[name]);
      const tensors = stages.map((s) => MANIFEST.models[name].stages[s]);
      expect(jobs.map((j) => j.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
      const cells = jobs.map((j) => `${j.stage}|${j.stimulus!.id}`).sort();
      expect(cells).toEqual(tensors.flatMap((tensor) => stimulusIds.map((id) => `${tensor}|${id}`)).sort());
      expect(new Set(jobs.map((j) => j.metamer!.id)).size).toBe(4);
      const verdicts = await Promise.all(jobs.map(async (j) => ({ ...j, passed: await passedOf(j.metamer!.id) })));
      passedByModel[name] = tensors.map((tensor) => verdicts.filter((j) => j.stage === tensor && j.passed).length);
      naturalByModel[name] = new Set(verdicts.filter((j) => j.passed).map((j) => j.stimulus!.id)).size;
      bothStages[name] = stimulusIds.filter((id) => tensors.every((tensor) => verdicts.some((j) => j.stimulus!.id === id && j.stage === tensor && j.passed))).length;
    }
    console.log(`validated metamers per stage: ${JSON.stringify(passedByModel)}`);
    // Every certificate is judged against the models' reference null of training digits, not the test digits' pairs.
    const oneJob = (await batchJobs(first.batches.mlp))[0];
    const cert = await t.gql<{ metamer: { certificate: { null: { n: number; source: { kind: string; setId: string; n: number } }; underpowered: boolean } } }>(
      `query($id: ID!) { metamer(id: $id) { certificate } }`, { id: oneJob.metamer!.id }, key,
    );
    expect(cert.data!.metamer.certificate.null).toMatchObject({ n: 2_000, source: { kind: "REFERENCE", n: 2_000 } });
    expect(cert.data!.metamer.certificate.null.source.setId).not.toBe(first.stimulusSetId);
    expect(cert.data!.metamer.certificate.underpowered).toBe(true); // 2,000 < 10,000 pairs

    // The result: per model its stages, the validation shares the API reports, and curves whose points and n follow
    // from them: the natural digits first, then each stage that has validated metamers (only those are recognized).
    const { result } = first;
    expect(result.schedule).toEqual({ rounds: 4, stepsPerRound: 60 });
    expect(result.models.map((m) => m.name)).toEqual(["mlp", "lenet"]);
    for (const m of result.models) {
      const stages = STAGES[m.name as keyof typeof STAGES];
      const passed = passedByModel[m.name];
      expect(m.stages).toEqual(stages);
      expect(m.validation).toEqual(stages.map((stage, s) => ({ stage, passed: passed[s], total: 2 })));
      const withMetamers = stages.filter((_, s) => passed[s] > 0);
      const natural = naturalByModel[m.name];
      const naturalPoint = (n: number) => (natural > 0 ? [["natural", n]] : []);
      expect(m.generatorCurve.map((p) => [p.stage, p.n])).toEqual([...naturalPoint(natural), ...withMetamers.map((s) => [s, passed[stages.indexOf(s)]])]);
      // n: the validated metamers behind each point (natural: the digits they came from), for both observers.
      expect(m.otherModelsCurve.map((p) => [p.stage, p.n])).toEqual([...naturalPoint(natural), ...withMetamers.map((s) => [s, passed[stages.indexOf(s)]])]);
      for (const p of [...m.generatorCurve, ...m.otherModelsCurve]) {
        expect(p.mean).toBeGreaterThanOrEqual(0);
        expect(p.mean).toBeLessThanOrEqual(1);
      }
      // The grid: the one shown digit per class at each stage, as the PNGs the service rendered.
      expect(m.metamers.map((g) => `${g.stage}/${g.digit}`).sort()).toEqual(stages.flatMap((s) => [`${s}/0`, `${s}/1`]).sort());
      for (const g of m.metamers) expect(Buffer.from(g.png, "base64").subarray(1, 4).toString()).toBe("PNG");
    }
    // The cross-model matrix at the final stage: every recognizer judged every validated final-stage metamer.
    const finalPassed = result.models.map((m) => passedByModel[m.name][1]);
    expect(result.crossModel!.n).toEqual(finalPassed.map((p) => [p, p]));
    expect(result.findings).toHaveLength(2); // one per standard model; no adversarial or control model in this run
    // Paired comparisons: each standard model's first vs final stage, over the digits validated at both stages, judged
    // by the other model; with at most 2 digits every sign vector is enumerated.
    expect(result.comparisons.map((c) => `${c.kind} ${c.a.model}:${c.a.stage}-${c.b.stage} by ${c.recognizers.join(",")}`)).toEqual([
      "FIRST_VS_FINAL mlp:fc1_relu-final by lenet",
      "FIRST_VS_FINAL lenet:conv1_relu-final by mlp",
    ]);
    for (const c of result.comparisons) {
      const both = bothStages[c.a.model];
      if (both === 0) {
        expect(c.test).toBeNull();
        continue;
      }
      expect(c.test).toMatchObject({ n: both, exact: true, permutations: 2 ** both });
      expect(c.test!.low).toBeLessThanOrEqual(c.test!.estimate);
      expect(c.test!.high).toBeGreaterThanOrEqual(c.test!.estimate);
      expect(c.test!.p).toBeGreaterThan(0);
      expect(c.test!.p).toBeLessThanOrEqual(1);
    }
    // The recognition phase waited for exactly this run's judgements: per model, per recognizer (both models), each
    // validated metamer and each digit behind them.
    const recognition = events.filter((e) => e.phase === "cross-model recognition");
    const owed = Object.keys(STAGES).reduce((acc, name) => acc + passedByModel[name].reduce((a, b) => a + b, 0) + naturalByModel[name], 0) * 2;
    expect(recognition.at(-1)).toMatchObject({ done: owed, total: owed, finished: true });
    expect(result.digits.map((d) => d.label)).toEqual(["3", "7"]);

    // The console summary: a row per stage in network order, natural first, a stage without validated metamers too.
    const summary = formatSummary(result);
    for (const m of result.models) {
      const block = summary.slice(summary.indexOf(`${m.name} (`)).split("\n").slice(2, 2 + m.stages.length + 1);
      const rows = block.map((line) => line.trim().split(/\s+/)[0]).filter((s) => s === "natural" || m.stages.includes(s));
      expect(rows).toEqual([...(naturalByModel[m.name] > 0 ? ["natural"] : []), ...m.stages]);
    }

    // Progress: each phase reported and closed.
    const finished = events.filter((e) => e.finished).map((e) => e.phase);
    expect(finished).toEqual(["registering models", "uploading the reference set (training digits)", "synthesizing 4x60", "cross-model recognition", "paired comparisons"]);

    // The report file with its sections.
    const html = readFileSync(out, "utf8");
    expect(first.reportPath).toBe(out);
    for (const heading of ["<h2>Findings</h2>", "<h2>Models</h2>", "<h2>Natural digits and their metamers", "<h2>Cross-model recognition"]) {
      expect(html).toContain(heading);
    }
    expect(html).toContain('id="model-mlp"');
    expect(html).toContain('id="model-lenet"');
    expect(html.match(/<svg[^>]*class="curve/g)).toHaveLength(2);
  }, 300_000);

  it("reuses everything on a rerun: same models, set and batches, no new rows", async () => {
    // The background worker may still be classifying the reference digits (recognition backlog): let it finish first.
    while ((await t.store.db.job.count({ where: { status: { in: ["QUEUED", "RUNNING"] } } })) > 0) await new Promise((r) => setTimeout(r, 200));
    const before = await countRows(t.store);
    const again = await runDemo(options(path.join(dir, "again.html"), []), new MetamersClient(t.url, key));
    expect(again.models).toEqual(first.models);
    expect(again.stimulusSetId).toBe(first.stimulusSetId);
    expect(again.batches).toEqual(first.batches);
    const after = await countRows(t.store);
    expect(Object.entries(after).filter(([k, v]) => before[k as keyof typeof before] !== v)).toEqual([]);
    expect(again.result.models.map((m) => m.validation)).toEqual(first.result.models.map((m) => m.validation));
  }, 120_000);

  it("recomputes recognitions an older data dir lost: asks for the backlog and waits for exactly the missing ones", async () => {
    // As after a change that drops recognitions for recomputation: this run's metamers lose their judgements.
    const metamerIds = (await Promise.all(Object.values(first.batches).map(batchJobs))).flat().flatMap((j) => (j.metamer ? [j.metamer.id] : []));
    const dropped = await t.store.db.recognition.deleteMany({ where: { metamerId: { in: metamerIds } } });
    expect(dropped.count).toBeGreaterThan(0); // some metamers validated (4 x 60 steps), so there was something to drop
    const events: ProgressEvent[] = [];
    const again = await runDemo({ ...options(path.join(dir, "backlog.html"), events), backlogAfterMs: 300 }, new MetamersClient(t.url, key));
    expect(drainError).toBeUndefined();
    expect(events.some((e) => e.phase === "cross-model recognition" && /asking every model to classify its backlog/.test(e.detail ?? ""))).toBe(true);
    expect(await t.store.db.recognition.count({ where: { metamerId: { in: metamerIds } } })).toBe(dropped.count);
    expect(again.result.models.map((m) => m.otherModelsCurve)).toEqual(first.result.models.map((m) => m.otherModelsCurve));
    expect(again.result.comparisons).toEqual(first.result.comparisons);
  }, 300_000);

  it("refuses options it cannot run, naming what was expected and what arrived", async () => {
    const client = new MetamersClient(t.url, key);
    await expect(runDemo({ models: ["mlp", "vgg"] }, client)).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/^models: expected names from mlp, lenet, .*got vgg$/),
    });
    await expect(runDemo({ classes: ["3", "x"] }, client)).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringContaining("got [3,x]") });
    await expect(runDemo({ stagesPerModel: 0 }, client)).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: "stagesPerModel: expected a positive integer, got 0" });
  });
});
