// `metamers results curve|matrix|idiosyncrasy` and `metamers export` against a real test server holding the paper's
// released data (importFeather2023): the CLI must give exactly what the API and the export routes give.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessCli } from "../helpers/cli.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let key: string;
let tmp: string;
const ids = new Map<string, string>();
let panelId: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("cli-results", "MEMBER"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-cli-results-"));
  const res = await t.gql(`mutation { importFeather2023 { created models } }`, {}, key);
  expect(res.errors).toBeUndefined();
  const me = await t.gql(`{ me { groupId } }`, {}, key);
  for (const m of (await t.store.models.list(me.data.me.groupId, { first: 100 })).items) ids.set(m.name, m.id);
  const panel = await t.gql(`mutation($ids: [ID!]!) { createRecognizerPanel(name: "two", modelIds: $ids) { id } }`, { ids: ["alexnet", "vgg_19"].map((n) => ids.get(n)) }, key);
  panelId = panel.data.createRecognizerPanel.id;
}, 600_000);
afterAll(async () => {
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const { cli, json } = inProcessCli(() => ({ url: t.url, key, dataDir: tmp }));

describe("metamers results", () => {
  it("curve: the API's points, by panel, with --stage keeping stages by tensor name or label", async () => {
    const r50 = ids.get("resnet50")!;
    const api = await t.gql(
      `query($m: ID!, $p: ID!) { recognizabilityCurve(modelId: $m, observer: OTHER_MODELS, panelId: $p) { stage stageLabel order natural mean sem n configHashes recognizerIds recognizerCount panelId } }`,
      { m: r50, p: panelId }, key,
    );
    const points = await json("results", "curve", "--model", r50, "--panel", panelId);
    expect(points).toEqual(api.data.recognizabilityCurve);
    expect(points.at(-1)).toMatchObject({ stage: "final", n: 2, recognizerCount: 2, panelId });
    // Without the panel every recognizer with results enters: 19 at the final stage.
    expect((await json("results", "curve", "--model", r50)).at(-1)).toMatchObject({ stage: "final", recognizerCount: 19, panelId: null });
    const human = await json("results", "curve", "--model", r50, "--observer", "human", "--stage", "final");
    expect(human).toHaveLength(1);
    expect(human[0]).toMatchObject({ stage: "final", n: 84 });
    expect(Math.abs(human[0].mean - 0.109)).toBeLessThan(0.0005);
    const text = await cli("results", "curve", "--model", r50, "--panel", panelId);
    expect(text.split("\n")[0]).toBe(`OTHER_MODELS recognizability of model ${r50}, panel ${panelId}`);
    expect(text).toMatch(new RegExp(`\\nfinal\\s+${points.at(-1).mean.toFixed(3)}\\s+${points.at(-1).sem.toFixed(3)}\\s+2\\s+2\\s+1\\n`));
    await expect(cli("results", "curve", "--model", r50, "--stage", "layer9")).rejects.toThrow(/--stage: no point for 'layer9' in this curve; its stages: .*final/);
    await expect(cli("results", "curve", "--model", r50, "--observer", "robots")).rejects.toThrow(/--observer: expected one of HUMAN, GENERATOR, OTHER_MODELS, MODEL, got 'robots'/);
    await expect(cli("results", "curve")).rejects.toThrow(/expected --model <id>/);
  }, 300_000);

  it("matrix: one cell per recognizer with data, --panel and --stage passed through", async () => {
    const r50 = ids.get("resnet50")!;
    const cells = await json("results", "matrix", "--generators", r50, "--panel", panelId);
    expect(cells.map((c: { recognizerId: string }) => c.recognizerId).sort()).toEqual(["alexnet", "vgg_19"].map((n) => ids.get(n)).sort());
    for (const c of cells) expect(c).toMatchObject({ generatorId: r50, stage: "final" });
    const api = await t.gql(`query($g: [ID!]!, $p: ID!) { crossModelMatrix(generatorIds: $g, panelId: $p) { generatorId recognizerId stage stageLabel accuracy n configHashes } }`, { g: [r50], p: panelId }, key);
    expect(cells).toEqual(api.data.crossModelMatrix);
    const all = await json("results", "matrix", "--generators", r50);
    expect(all.length).toBeGreaterThan(cells.length);
    await expect(cli("results", "matrix", "--generators", r50, "--stage", "layer9")).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/layer9/) });
    expect(await cli("results", "matrix", "--generators", r50, "--panel", panelId)).toMatch(/\n2 cell\(s\)\n$/);
  }, 300_000);

  it("idiosyncrasy: the paper's rho over its points, and by panel", async () => {
    const r = await json("results", "idiosyncrasy", "--modality", "vision", "--resamples", "50");
    const api = await t.gql(`{ idiosyncrasy(modality: VISION, resamples: 50) { spearmanRho n ci95 { low high } recognizerCount } }`, {}, key);
    expect(r).toMatchObject(api.data.idiosyncrasy);
    expect(r.n).toBe(148);
    // The paper's value (README: rho = 0.920 over 148 points), with test/graphql/metrics.test.ts's tolerance.
    expect(Math.abs(r.spearmanRho - 0.92)).toBeLessThan(0.001);
    expect(r.points).toHaveLength(148);
    const byPanel = await json("results", "idiosyncrasy", "--modality", "VISION", "--resamples", "50", "--panel", panelId);
    expect(byPanel).toMatchObject({ recognizerCount: 2, panelId });
    const text = await cli("results", "idiosyncrasy", "--modality", "vision", "--resamples", "50");
    expect(text).toMatch(new RegExp(`^Spearman rho ${r.spearmanRho.toFixed(3)} \\(95% CI .*\\), .*148 point\\(s\\)`));
    await expect(cli("results", "idiosyncrasy")).rejects.toThrow(/expected --modality VISION\|AUDIO, got none/);
  }, 300_000);
});

describe("metamers export", () => {
  it("lists the tables and writes a table to a file or stdout, with the curve's parameters", async () => {
    const tables = await json("export");
    expect(tables.map((x: { path: string }) => x.path)).toContain("/export/recognizability-curve.csv");
    expect(await cli("export")).toMatch(/^table\s+parameters\s+description\ncross-model-matrix\s+generatorIds=/);

    const r50 = ids.get("resnet50")!;
    const file = path.join(tmp, "curve.csv");
    const summary = await json("export", "recognizability-curve", "--model", r50, "--observer", "OTHER_MODELS", "--panel", panelId, "--out", file);
    const csv = await readFile(file, "utf8");
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe("model_id,observer,stage,order,natural,mean,sem,n,stage_label,recognizers,config_hashes");
    const points = await json("results", "curve", "--model", r50, "--panel", panelId);
    expect(summary).toEqual({ table: "recognizability-curve", file, rows: points.length, bytes: Buffer.byteLength(csv) });
    expect(lines.at(-1)).toMatch(new RegExp(`^${r50},OTHER_MODELS,final,.*,2,`));
    // stdout: the CSV itself, byte for byte.
    expect(await cli("export", "recognizability-curve", "--model", r50, "--param", "observer=OTHER_MODELS", "--panel", panelId)).toBe(csv);
    await expect(cli("export", "nothing")).rejects.toMatchObject({ message: expect.stringMatching(/known tables: cross-model-matrix.csv/) });
    await expect(cli("export", "recognizability-curve", "--model", r50)).rejects.toMatchObject({ code: "BAD_USER_INPUT", message: expect.stringMatching(/observer: expected a value/) });
    await expect(cli("export", "recognizability-curve", "--param", "observer")).rejects.toThrow(/--param: expected <name>=<value>, got 'observer'/);
  }, 300_000);
});
