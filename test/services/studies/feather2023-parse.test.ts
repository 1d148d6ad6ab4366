import { beforeAll, describe, expect, it } from "vitest";
import { spearman } from "../../../src/engine/stats/correlation.js";
import { type Feather2023Data, mergeOrders, parseFeather2023, readFeather2023 } from "../../../src/services/studies/feather2023.js";
import { PAPER_DATA } from "../../helpers/constants.js";

const paperData = PAPER_DATA;

// The acceptance numbers straight from the parsed CSV rows (no database): guards the pooling and matching rules
// documented in feather2023.ts; the SQL implementation is checked against the same numbers in the metrics tests.
describe("feather2023 released data", () => {
  let data: Feather2023Data;
  beforeAll(async () => {
    data = await readFeather2023(paperData);
  });

  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const humanAt = (model: string, stage: string) =>
    data.humanScores.filter((r) => r.model === model && r.stage === stage && r.observer === "HUMAN" && r.proportionCorrect !== null)
      .map((r) => r.proportionCorrect!);
  const otherAt = (generator: string, stage: string) =>
    data.crossModel.filter((r) => r.generator === generator && r.stage === stage && r.recognizer !== generator)
      .map((r) => r.nCorrect / r.nMetamers);

  it("parses every row", () => {
    expect(data.humanScores).toHaveLength(21302);
    expect(data.crossModel).toHaveLength(5808);
    expect(data.models.filter((m) => m.modality === "IMAGE")).toHaveLength(30);
    expect(data.models.filter((m) => m.modality === "AUDIO")).toHaveLength(18);
    expect(data.models.find((m) => m.name === "resnet50")!.stages).toEqual([
      "input_after_preproc", "conv1_relu1_fake_relu", "layer1_fake_relu", "layer2_fake_relu", "layer3_fake_relu",
      "layer4_fake_relu", "avgpool", "final",
    ]);
  });

  it("reproduces the human and other-model final-stage values", () => {
    const r50 = humanAt("resnet50", "final");
    expect(r50).toHaveLength(84);
    expect(Math.abs(mean(r50) - 0.109)).toBeLessThan(0.0005);
    expect(Math.abs(mean(humanAt("resnet50_l2_3_robust", "final")) - 0.644)).toBeLessThan(0.0005);
    expect(Math.abs(mean(humanAt("cochresnet50", "final")) - 0.212)).toBeLessThan(0.0005);
    const other = otherAt("resnet50", "final");
    expect(other).toHaveLength(19);
    expect(Math.abs(mean(other) - 0.1707)).toBeLessThan(0.00005);
  });

  it.each([
    { modality: "IMAGE", n: 148, rho: 0.92 },
    { modality: "AUDIO", n: 127, rho: 0.906 },
  ] as const)("reproduces the idiosyncrasy correlation for $modality", ({ modality, n, rho }) => {
    const points: [number, number][] = [];
    for (const model of data.models.filter((m) => m.modality === modality)) {
      for (const stage of model.stages) {
        if (stage === "input_after_preproc") continue;
        const h = humanAt(model.name, stage);
        const o = otherAt(model.name, stage);
        if (h.length && o.length) points.push([mean(h), mean(o)]);
      }
    }
    expect(points).toHaveLength(n);
    expect(Math.abs(spearman(points.map((p) => p[0]), points.map((p) => p[1])) - rho)).toBeLessThan(0.001);
  });

  it("merges partial stage orders", () => {
    expect(mergeOrders(["in", "a", "c"], ["a", "b", "c", "d"])).toEqual(["in", "a", "b", "c", "d"]);
    expect(mergeOrders([], ["x", "y"])).toEqual(["x", "y"]);
  });

  it("rejects malformed files with the file, line and expectation", () => {
    const header = "modality,experiment,model,participant,layer,observer,proportion_correct";
    const crossHeader = "modality,recognizer,generator,layer,n_metamers,n_correct,reported_accuracy,reported_bootstrap_sem,correct_by_metamer";
    expect(() => parseFeather2023("a,b\n", crossHeader)).toThrow(/human_recognizability.csv line 1: expected the header/);
    expect(() => parseFeather2023(`${header}\nvision,1,m,0,final,human,1.5\n`, crossHeader)).toThrow(
      /line 2: proportion_correct must be empty or a number in \[0, 1\], got '1.5'/,
    );
    expect(() => parseFeather2023(header, `${crossHeader}\nvision,a,b,final,3,2,0.6,0.1,101\nvideo,a,b,final,1,1,1,0,1\n`)).toThrow(
      /cross_model_recognition.csv line 3: modality must be 'vision' or 'audio', got 'video'/,
    );
    expect(() => parseFeather2023(header, `${crossHeader}\nvision,a,b,final,3,1,0.6,0.1,101\n`)).toThrow(/n_correct is 1 but correct_by_metamer has 2 ones/);
  });
});
