// The Python client (clients/python/metamers_client.py) end to end: python3 runs python_client_scenario.py against a
// real test server (PostgreSQL, GraphQL, uploads, blobs, an in-process synthesis worker) and prints what it got; the
// test checks it against GraphQL and the files it wrote against their sha256.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobQueue, JobWorker } from "../../src/services/jobs/queue.js";
import { createJobHandlers } from "../../src/worker.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { REPO_ROOT } from "../helpers/constants.js";

const SCRIPT = path.join(import.meta.dirname, "python_client_scenario.py");
const MODEL = path.join(REPO_ROOT, "models/demo/lenet.onnx");
const IMAGES = path.join(REPO_ROOT, "examples/images");
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Parses a CSV of plain fields (the index has no quoted commas: ids, tensor names, hashes, file names). */
function readCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(file, "utf8").trim().split(/\r?\n/);
  const cols = head.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [cols[i], v])));
}

let t: TestApp;
let key: string;
let worker: JobWorker;
let closeHandlers: () => Promise<void>;

beforeAll(async () => {
  t = await startTestApp();
  key = (await t.createGroupWithKey("python-client", "MEMBER")).key;
  const handlers = createJobHandlers({ store: t.store, config: t.app.config, log: pino({ level: "silent" }) });
  closeHandlers = handlers.close;
  worker = new JobWorker(new JobQueue(t.store, handlers.registry, pino({ level: "silent" })), { pollMs: 100 });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await closeHandlers?.();
  await t?.close();
});

/** Runs the scenario with python3 (asynchronously: the server and the worker run in this process meanwhile). */
function runScenario(outDir: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      "python3",
      ["-B", SCRIPT, MODEL, IMAGES, outDir], // -B: no __pycache__ in the source tree
      { env: { ...process.env, METAMERS_URL: t.url, METAMERS_API_KEY: key, METAMERS_DATA_DIR: outDir }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`python3 failed: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr })),
    );
  });
}

describe("Python client", () => {
  it("registers, uploads, synthesizes and waits, lists, downloads and reads the curve as GraphQL answers them", async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), "py-client-"));
    const { stdout, stderr } = await runScenario(outDir);
    const got = JSON.parse(stdout);

    expect(got.health.ok).toBe(true);
    const model = (await t.gql(`query($id: ID!) { model(id: $id) { layers { name } } }`, { id: got.model.id }, key)).data.model;
    expect(got.model.layers).toBe(model.layers.length);

    // Stimuli: the four smallest-named digits, in order, labels from the file names, some sent by the two-step upload.
    const stimuli = (await t.gql(`query($id: ID!) { stimulus(id: $id) { id setId label filename shape } }`, { id: got.stimuli[0].id }, key)).data.stimulus;
    const set = (await t.gql(`query($id: ID!) { stimulusSet(id: $id) { stimuli(first: 10) { edges { node { id label filename shape } } } } }`, { id: stimuli.setId }, key)).data
      .stimulusSet.stimuli.edges.map((e: { node: unknown }) => e.node);
    expect(got.stimuli).toEqual(set);
    expect(set.map((s: { label: string; filename: string }) => `${s.label}:${s.filename}`)).toEqual(["0:digit-0.png", "1:digit-1.png", "2:digit-2.png", "3:digit-3.png"]);
    const sizes = ["0", "1", "2", "3"].map((d) => statSync(path.join(IMAGES, `digit-${d}.png`)).size);
    expect(got.uploaded).toBe(sizes.filter((s) => s > 200).length);
    expect(got.uploaded).toBeGreaterThan(0);
    expect(got.uploaded).toBeLessThan(4);

    // An unknown stage: the API's code and message reach Python.
    expect(got.badStage.code).toBe("BAD_USER_INPUT");
    expect(got.badStage.message).toContain("no_such_stage");

    // The batch: waited for until every job finished, progress printed with the batch id first and the real total.
    const batch = (await t.gql(`query($id: ID!) { synthesisBatch(id: $id) { id configHash counts { queued running succeeded failed cancelled } } }`, { id: got.batch.id }, key))
      .data.synthesisBatch;
    expect(got.batch.counts).toEqual(batch.counts);
    expect(batch.counts).toEqual({ queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    const progress = stderr.trim().split("\n");
    expect(progress[0]).toBe(`batch ${got.batch.id}`);
    expect(progress.at(-1)).toMatch(new RegExp(`^batch ${got.batch.id}: 4/4 done \\(0 running, 4 succeeded, 0 failed, 0 cancelled\\)$`));

    const batches = (await t.gql(`query($m: [ID!]) { synthesisBatches(filter: { modelIds: $m }) { edges { node { id } } } }`, { m: [got.model.id] }, key)).data
      .synthesisBatches.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(got.batches).toEqual(batches);

    // Metamers: listed over pages of 3 (so the cursor was followed), the same as GraphQL's one page.
    const metamers = (
      await t.gql(
        `query($b: [ID!]) { metamers(filter: { batchIds: $b }, order: OLDEST_FIRST, first: 100) { totalCount edges { node { id stage stageLabel passed sha256 renderingSha256 validation { passed naturalLabel metamerLabel } } } } }`,
        { b: [got.batch.id] },
        key,
      )
    ).data.metamers;
    expect(metamers.totalCount).toBe(4);
    const nodes = metamers.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(got.metamers).toEqual(nodes.map(({ id, stage, stageLabel, passed, sha256 }: Record<string, unknown>) => ({ id, stage, stageLabel, passed, sha256 })));
    expect(new Set(nodes.map((m: { stageLabel: string }) => m.stageLabel))).toEqual(new Set(["conv1_relu", "final"]));

    // The downloads: a CSV index, and per metamer its rendering, tensor and certificate as the API has them.
    expect(got.index).toBe(path.join(outDir, "index.csv"));
    const index = readCsv(got.index);
    expect(index.map((r) => r.id)).toEqual(nodes.map((m: { id: string }) => m.id));
    for (const [k, row] of index.entries()) {
      const m = nodes[k];
      expect(row.stage).toBe(m.stage);
      expect(row.passed).toBe(m.passed ? "True" : "False");
      expect(row.naturalLabel).toBe(m.validation.naturalLabel);
      expect(row.batchId).toBe(got.batch.id);
      expect(sha(path.join(outDir, row.rendering))).toBe(m.renderingSha256);
      expect(sha(path.join(outDir, row.tensor))).toBe(m.sha256);
      expect(statSync(path.join(outDir, row.tensor)).size).toBe(28 * 28 * 4);
      const cert = JSON.parse(readFileSync(path.join(outDir, row.certificate), "utf8"));
      expect(cert.metamerId).toBe(m.id);
      expect(cert.passed).toBe(m.validation.passed);
      expect(cert.metamerLabel).toBe(m.validation.metamerLabel);
    }
    expect(readdirSync(outDir).filter((f) => f.endsWith(".part"))).toEqual([]);
    expect(existsSync(path.join(outDir, "index.csv"))).toBe(true);

    // The curve: the same rows as GraphQL gives.
    const curve = (
      await t.gql(
        `query($m: ID!, $b: [ID!]) { recognizabilityCurve(modelId: $m, observer: GENERATOR, batchIds: $b) { stage stageLabel order natural mean sem n configHashes recognizerIds recognizerCount panelId } }`,
        { m: got.model.id, b: [got.batch.id] },
        key,
      )
    ).data.recognizabilityCurve;
    expect(got.curve).toEqual(curve);
    expect(curve.length).toBeGreaterThan(0);

    // pandas is optional: either a DataFrame was made or the ImportError says what to install.
    if (got.dataframe !== "pandas") expect(got.dataframe).toMatch(/needs pandas.*pip install pandas/);
  }, 900_000);
});
