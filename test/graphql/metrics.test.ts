import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// The paper's recognizability numbers, through the real API: import the paper's data, then query.
describe("recognizability metrics over the imported paper data (GraphQL)", () => {
  let t: TestApp;
  let key: string;
  let reader: string;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp();
    ({ key } = await t.createGroupWithKey("lab-metrics", "MEMBER"));
    const res = await t.gql(`mutation { importFeather2023 { created models humanScoresInserted crossModelResultsInserted } }`, {}, key);
    expect(res.errors).toBeUndefined();
    expect(res.data.importFeather2023).toEqual({ created: true, models: 48, humanScoresInserted: 21302, crossModelResultsInserted: 5808 });
    const me = await t.gql(`{ me { groupId } }`, {}, key);
    const models = await t.store.models.list(me.data.me.groupId, { first: 100 });
    for (const m of models.items) ids.set(m.name, m.id);
    reader = (await t.gql(`mutation { createApiKey(name: "r", role: READER) { key } }`, {}, key)).data?.createApiKey?.key ?? key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    { modality: "VISION", n: 148, rho: 0.92 },
    { modality: "AUDIO", n: 127, rho: 0.906 },
  ])("idiosyncrasy($modality): Spearman rho $rho over $n points", async ({ modality, n, rho }) => {
    const res = await t.gql(
      `query($m: StudyModality!) { idiosyncrasy(modality: $m) {
         spearmanRho pearsonR r2 kendallTau n ci95 { low high } bootstrap { seed resamples } excludeStages
         points { model stage human otherModels } } }`,
      { m: modality },
      key,
    );
    expect(res.errors).toBeUndefined();
    const r = res.data.idiosyncrasy;
    expect(r.n).toBe(n);
    expect(r.points).toHaveLength(n);
    expect(Math.abs(r.spearmanRho - rho)).toBeLessThan(0.001);
    expect(r.r2).toBeCloseTo(r.pearsonR ** 2, 12);
    expect(r.kendallTau).toBeGreaterThan(0.6);
    expect(r.kendallTau).toBeLessThan(r.spearmanRho);
    expect(r.ci95.low).toBeLessThan(r.spearmanRho);
    expect(r.ci95.high).toBeGreaterThan(r.spearmanRho);
    expect(r.bootstrap).toEqual({ seed: 0, resamples: 1000 });
    expect(r.excludeStages).toEqual(["natural_*", "input_after_preproc"]);
    expect(r.points.some((p: { stage: string }) => p.stage.startsWith("natural") || p.stage === "input_after_preproc")).toBe(false);
  });

  it("lists the imported study and restricts idiosyncrasy to it, with custom stage exclusions", async () => {
    const studies = await t.gql(`{ studies { id key models humanScores crossModelResults } }`, {}, reader);
    expect(studies.errors).toBeUndefined();
    expect(studies.data.studies).toEqual([
      { id: expect.any(String), key: "feather2023", models: 48, humanScores: 21302, crossModelResults: 5808 },
    ]);
    const res = await t.gql(
      `query($s: ID!) {
         paper: idiosyncrasy(modality: AUDIO, studyId: $s) { n spearmanRho }
         all: idiosyncrasy(modality: AUDIO, studyId: $s, excludeStages: []) { n points { stage } } }`,
      { s: studies.data.studies[0].id },
      reader,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.paper.n).toBe(127);
    // Without exclusions the audio input stage (present in both files for audio) comes back in.
    expect(res.data.all.n).toBeGreaterThan(127);
    expect(res.data.all.points.some((p: { stage: string }) => p.stage === "input_after_preproc")).toBe(true);
  });

  it.each([
    { model: "resnet50", value: 0.109, n: 84 },
    { model: "resnet50_l2_3_robust", value: 0.644, n: 20 },
    { model: "cochresnet50", value: 0.212, n: 60 },
  ])("human recognizabilityCurve of $model ends at $value", async ({ model, value, n }) => {
    const res = await t.gql(
      `query($id: ID!) { recognizabilityCurve(modelId: $id, observer: HUMAN) { stage order natural mean sem n } }`,
      { id: ids.get(model) },
      reader,
    );
    expect(res.errors).toBeUndefined();
    const curve = res.data.recognizabilityCurve;
    expect(curve[0].natural).toBe(true);
    const final = curve.at(-1);
    expect(final.stage).toBe("final");
    expect(final.n).toBe(n);
    expect(Math.abs(final.mean - value)).toBeLessThan(0.0005);
    expect(curve.map((p: { order: number }) => p.order)).toEqual([...curve.map((p: { order: number }) => p.order)].sort((a, b) => a - b));
  });

  it("other-model recognizability of resnet50 at final is 0.1707 over 19 recognizers", async () => {
    const res = await t.gql(
      `query($id: ID!) { recognizability(modelId: $id, stage: "final", observer: OTHER_MODELS, resamples: 200) {
         mean sem n metamers ci95 { low high } bootstrap { seed resamples } } }`,
      { id: ids.get("resnet50") },
      key,
    );
    expect(res.errors).toBeUndefined();
    const r = res.data.recognizability;
    expect(r.n).toBe(19);
    expect(Math.abs(r.mean - 0.1707)).toBeLessThan(0.00005);
    expect(r.ci95.low).toBeLessThan(r.mean);
    expect(r.ci95.high).toBeGreaterThan(r.mean);
    expect(r.bootstrap).toEqual({ seed: 0, resamples: 200 });

    const human = await t.gql(
      `query($id: ID!) { recognizability(modelId: $id, stage: "FINAL", observer: HUMAN) { stage mean n sem } }`,
      { id: ids.get("resnet50") },
      key,
    );
    expect(human.data.recognizability.stage).toBe("final");
    expect(human.data.recognizability.n).toBe(84);
    expect(Math.abs(human.data.recognizability.mean - 0.109)).toBeLessThan(0.0005);
  });

  it("crossModelMatrix gives accuracies and n per cell", async () => {
    const gens = ["resnet50", "alexnet"].map((n) => ids.get(n));
    const recs = ["resnet50", "alexnet", "vgg_19"].map((n) => ids.get(n));
    const res = await t.gql(
      `query($g: [ID!]!, $r: [ID!]!) { crossModelMatrix(generatorIds: $g, recognizerIds: $r) { generatorId recognizerId stage accuracy n } }`,
      { g: gens, r: recs },
      key,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.crossModelMatrix).toHaveLength(6);
    for (const cell of res.data.crossModelMatrix) {
      expect(cell.stage).toBe("final");
      expect(cell.n).toBeGreaterThan(0);
    }
    const self = res.data.crossModelMatrix.find((c: any) => c.generatorId === gens[0] && c.recognizerId === gens[0]);
    expect(self.accuracy).toBeGreaterThan(0.9);
  });

  it("compares a robust and a standard model, and humans with the model, by permutation", async () => {
    const res = await t.gql(
      `query($a: ID!, $b: ID!, $m: ID!) {
         compareRecognizability(modelA: $a, modelB: $b, observer: HUMAN, permutations: 999, seed: 3) {
           design subjects stages permutations seed factor { F p df1 df2 exact } interaction { F p } }
         humanVsModel(modelId: $m, permutations: 999) { design subjects stages factor { F p } interaction { p } } }`,
      { a: ids.get("resnet50"), b: ids.get("resnet50_l2_3_robust"), m: ids.get("resnet50") },
      key,
    );
    expect(res.errors).toBeUndefined();
    const c = res.data.compareRecognizability;
    // Both models were shown in experiment 3 to the same 20 participants.
    expect(c.design).toBe("REPEATED_MEASURES");
    expect(c.subjects).toBe(20);
    expect(c.stages).toContain("final");
    expect(c.factor.p).toBeLessThan(0.01); // robust late-stage metamers are far more recognizable
    expect(c.factor.p).toBeGreaterThanOrEqual(1 / 1000);
    const h = res.data.humanVsModel;
    expect(h.subjects).toBe(84);
    expect(h.factor.p).toBeLessThan(0.01); // the model recognizes its metamers, people do not
  });

  it("exports the matrix, curves and trial-level rows as CSV (GET /export/<table>.csv)", async () => {
    const get = (path: string, k: string | null = key) =>
      fetch(`${t.url}${path}`, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    const r50 = ids.get("resnet50")!;
    const curve = await get(`/export/recognizability-curve.csv?modelId=${r50}&observer=HUMAN`);
    expect(curve.status).toBe(200);
    expect(curve.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = (await curve.text()).trim().split("\n");
    expect(lines[0]).toBe("model_id,observer,stage,order,natural,mean,sem,n,stage_label,recognizers,config_hashes");
    expect(lines[1]).toMatch(/,natural_image,-1,true,/);
    const final = lines.at(-1)!.split(",");
    expect(final[2]).toBe("final");
    expect(Math.abs(Number(final[5]) - 0.109)).toBeLessThan(0.0005);

    const others = ["alexnet", "vgg_19"].map((n) => ids.get(n)).join(",");
    const matrix = await (await get(`/export/cross-model-matrix.csv?generatorIds=${r50}&recognizerIds=${others}`)).text();
    expect(matrix.trim().split("\n")).toHaveLength(3);
    // Imported results name their study as their configuration.
    expect(matrix.trim().split("\n")[1]).toMatch(/,final,\d+,[0-9.]+,,study:[0-9a-f-]{36}$/);

    const trials = (await (await get(`/export/model-trials.csv?generatorId=${r50}`)).text()).trim().split("\n");
    expect(trials[0]).toBe("generator_id,recognizer_id,stage,metamer,correct,predicted_label,batch_id,config_hash");
    // Per-metamer rows of the final stage, regrouped per recognizer, give back the other-model value 0.1707.
    const perRecognizer = new Map<string, { n: number; correct: number }>();
    for (const line of trials.slice(1)) {
      const [, recognizer, stage, , correct] = line.split(",");
      if (stage !== "final" || recognizer === r50) continue;
      const acc = perRecognizer.get(recognizer) ?? perRecognizer.set(recognizer, { n: 0, correct: 0 }).get(recognizer)!;
      acc.n++;
      if (correct === "true") acc.correct++;
    }
    expect(perRecognizer.size).toBe(19);
    const accuracies = [...perRecognizer.values()].map((a) => a.correct / a.n);
    expect(Math.abs(accuracies.reduce((a, b) => a + b, 0) / 19 - 0.1707)).toBeLessThan(0.00005);

    const scores = (await (await get(`/export/human-scores.csv?modelIds=${r50}`)).text()).trim().split("\n");
    expect(scores).toHaveLength(1 + 84 * 8 * 2); // 84 participants x (natural + 7 stages) x 2 observers

    const points = (await (await get(`/export/idiosyncrasy-points.csv?modality=AUDIO`)).text()).trim().split("\n");
    expect(points).toHaveLength(128);

    const unknown = await get(`/export/nothing.csv`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).errors[0].message).toMatch(/known tables: cross-model-matrix.csv/);
    const anonymous = await get(`/export/human-scores.csv?modelIds=${r50}`, null);
    expect(anonymous.status).toBe(401);
    const missing = await get(`/export/recognizability-curve.csv?modelId=${r50}`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).errors[0].message).toMatch(/observer: expected a value/);
  });

  it("takes a recognizer panel, lists the recognizers used, and resolves stage labels set with setStageLabels", async () => {
    const r50 = ids.get("resnet50")!;
    const two = ["alexnet", "vgg_19"].map((n) => ids.get(n)!);
    const created = await t.gql(
      `mutation($ids: [ID!]!) { createRecognizerPanel(name: "two", modelIds: $ids) { id name version modelIds modelCount } }`, { ids: two }, key,
    );
    expect(created.errors).toBeUndefined();
    const panel = created.data.createRecognizerPanel;
    expect(panel).toMatchObject({ name: "two", version: 1, modelIds: two, modelCount: 2 });
    const { key: readOnly } = await t.createGroupWithKey("lab-panel-reader", "READER");
    const denied = await t.gql(`mutation($ids: [ID!]!) { createRecognizerPanel(name: "x", modelIds: $ids) { id } }`, { ids: two }, readOnly);
    expect(denied.errors?.[0].extensions?.code).toBe("FORBIDDEN");

    const res = await t.gql(
      `query($g: ID!, $p: ID!) {
         all: recognizability(modelId: $g, stage: "final", observer: OTHER_MODELS, resamples: 50) { n recognizerCount configHashes panelId }
         panel: recognizability(modelId: $g, stage: "final", observer: OTHER_MODELS, resamples: 50, panelId: $p) { n recognizerCount recognizerIds panelId }
         curve: recognizabilityCurve(modelId: $g, observer: OTHER_MODELS, panelId: $p) { stage stageLabel n recognizerCount }
         matrix: crossModelMatrix(generatorIds: [$g], panelId: $p) { recognizerId stage configHashes }
         idio: idiosyncrasy(modality: VISION, panelId: $p, resamples: 50) { n recognizerCount recognizerIds panelId points { recognizerCount } }
         panels: recognizerPanels(name: "two") { id version } }`,
      { g: r50, p: panel.id },
      reader,
    );
    expect(res.errors).toBeUndefined();
    const d = res.data;
    expect(d.all).toMatchObject({ n: 19, recognizerCount: 19, panelId: null });
    expect(d.all.configHashes).toHaveLength(1);
    expect(d.all.configHashes[0]).toMatch(/^study:/);
    expect(d.panel).toMatchObject({ n: 2, recognizerCount: 2, recognizerIds: [...two].sort(), panelId: panel.id });
    expect(d.curve.at(-1)).toMatchObject({ stage: "final", n: 2, recognizerCount: 2 });
    expect(d.matrix.map((c: { recognizerId: string }) => c.recognizerId).sort()).toEqual([...two].sort());
    expect(d.idio.recognizerIds).toEqual([...two].sort());
    expect(d.idio.points.every((p: { recognizerCount: number }) => p.recognizerCount <= 2)).toBe(true);
    expect(d.panels).toEqual([{ id: panel.id, version: 1 }]);

    const labelled = await t.gql(
      `mutation($id: ID!) { setStageLabels(modelId: $id, labels: [{ label: "last", stage: "final" }]) { id layers { name label } } }`, { id: r50 }, key,
    );
    expect(labelled.errors).toBeUndefined();
    expect(labelled.data.setStageLabels.layers.find((l: { name: string }) => l.name === "final").label).toBe("last");
    const byLabel = await t.gql(
      `query($g: ID!) { recognizability(modelId: $g, stage: "last", observer: HUMAN) { stage stageLabel n }
                        recognizabilityCurve(modelId: $g, observer: HUMAN) { stage stageLabel } }`, { g: r50 }, reader,
    );
    expect(byLabel.errors).toBeUndefined();
    expect(byLabel.data.recognizability).toEqual({ stage: "final", stageLabel: "last", n: 84 });
    expect(byLabel.data.recognizabilityCurve.at(-1)).toEqual({ stage: "final", stageLabel: "last" });
    const misspelt = await t.gql(`query($g: ID!) { recognizability(modelId: $g, stage: "layer3", observer: HUMAN) { n } }`, { g: r50 }, reader);
    expect(misspelt.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(misspelt.errors?.[0].message).toMatch(/^stage: no stage 'layer3' \(tensor name or label\) in model resnet50; its stages: .*last \(final\)/);

    // `final` labels the last stage only (registerModel and the demo manifest use it so), where it means what FINAL means.
    const layers: { name: string }[] = labelled.data.setStageLabels.layers;
    const notLast = layers.find((l) => l.name !== "final")!.name;
    const wrongFinal = await t.gql(
      `mutation($id: ID!, $s: String!) { setStageLabels(modelId: $id, labels: [{ label: "final", stage: $s }]) { id } }`, { id: r50, s: notLast }, key,
    );
    expect(wrongFinal.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(wrongFinal.errors?.[0].message).toMatch(/may only label the last stage \(final\)/);
    const finalLabel = await t.gql(
      `mutation($id: ID!) { setStageLabels(modelId: $id, labels: [{ label: "Final", stage: "final" }]) { layers { name label } } }`, { id: r50 }, key,
    );
    expect(finalLabel.errors).toBeUndefined();
    expect(finalLabel.data.setStageLabels.layers.find((l: { name: string }) => l.name === "final").label).toBe("Final");
  });

  it("filters models with the list grammar: AND of fields, a list matches any of its values", async () => {
    const res = await t.gql(
      `{ two: models(filter: { names: ["resnet50", "alexnet"] }) { totalCount edges { node { name } } }
         and: models(filter: { names: ["resnet50", "cochresnet50"], modalities: [AUDIO] }) { totalCount edges { node { name } } }
         standard: models(filter: { regimes: [STANDARD] }) { totalCount }
         robust: models(filter: { regimes: [ADVERSARIAL, RANDOM_PERTURBATION] }) { totalCount } }`,
      {},
      reader,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.two.edges.map((e: { node: { name: string } }) => e.node.name).sort()).toEqual(["alexnet", "resnet50"]);
    expect(res.data.and).toEqual({ totalCount: 1, edges: [{ node: { name: "cochresnet50" } }] });
    expect(res.data.standard.totalCount).toBe(48); // the import records every reference model as STANDARD
    expect(res.data.robust.totalCount).toBe(0);
    const empty = await t.gql(`{ models(filter: { names: [] }) { totalCount } }`, {}, reader);
    expect(empty.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(empty.errors?.[0].message).toMatch(/^filter\.names: expected at least one value/);
  });

  it("answers bad input with a code and a message naming the argument", async () => {
    const bad = await t.gql(`{ recognizability(modelId: "nope", stage: "final", observer: HUMAN) { mean } }`, {}, key);
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(bad.errors?.[0].message).toMatch(/modelId: expected a model id \(a UUID\), got 'nope'/);
    const missing = await t.gql(
      `{ recognizability(modelId: "00000000-0000-4000-8000-000000000000", stage: "final", observer: HUMAN) { mean } }`, {}, key,
    );
    expect(missing.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const model = await t.gql(
      `query($id: ID!) { recognizability(modelId: $id, stage: "final", observer: MODEL) { mean } }`, { id: ids.get("resnet50") }, key,
    );
    expect(model.errors?.[0].message).toMatch(/recognizerId: required when observer is MODEL/);
    const reference = await t.gql(`mutation($id: ID!) { recognizeBacklog(modelId: $id) }`, { id: ids.get("resnet50") }, key);
    expect(reference.errors?.[0].extensions?.code).toBe("UNSUPPORTED_MODEL");
    expect(reference.errors?.[0].message).toMatch(/'resnet50' is a reference model without an ONNX file/);
    const anon = await t.gql(`{ idiosyncrasy(modality: VISION) { n } }`);
    expect(anon.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
    const { key: other } = await t.createGroupWithKey("lab-empty", "READER");
    const empty = await t.gql(`{ idiosyncrasy(modality: AUDIO) { n } }`, {}, other);
    expect(empty.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(empty.errors?.[0].message).toMatch(/found 0 for AUDIO/);
  });
});
