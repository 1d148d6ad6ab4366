// The demo's paired design as pure functions: which comparisons a run makes, the per-digit values they compare
// and the CSV reader of the model-trials export.
import { describe, expect, it } from "vitest";
import { comparisonPlans, parseCsv, pairedDifferences, perDigitRecognizability, type PlanModel, type Trial } from "../../src/demo/paired.js";

const RESNET = "ResNet (same description)";
const MODELS: PlanModel[] = [
  { name: "mlp", regime: "STANDARD", architecture: "MLP", stages: ["fc1_relu", "final"] },
  { name: "resnet", regime: "STANDARD", architecture: RESNET, stages: ["layer1", "avgpool", "final"] },
  { name: "resnet_l2adv", regime: "ADVERSARIAL", architecture: RESNET, stages: ["layer1", "avgpool", "final"] },
  { name: "resnet_rand", regime: "RANDOM_PERTURBATION", architecture: RESNET, stages: ["layer1", "final"] },
];

describe("comparisonPlans", () => {
  it("matches each non-standard model with the standard model of its architecture, stage by stage, judged by neither", () => {
    const plans = comparisonPlans(MODELS);
    const matched = plans.filter((p) => p.kind === "MATCHED").map((p) => `${p.a.model}@${p.a.stage}-${p.b.model}@${p.b.stage}|${p.recognizers.join(",")}`);
    expect(matched).toEqual([
      "resnet_l2adv@layer1-resnet@layer1|mlp,resnet_rand",
      "resnet_l2adv@avgpool-resnet@avgpool|mlp,resnet_rand",
      "resnet_l2adv@final-resnet@final|mlp,resnet_rand",
      "resnet_rand@layer1-resnet@layer1|mlp,resnet_l2adv",
      "resnet_rand@final-resnet@final|mlp,resnet_l2adv",
    ]);
    const drops = plans.filter((p) => p.kind === "FIRST_VS_FINAL").map((p) => `${p.a.model}:${p.a.stage}-${p.b.stage}|${p.recognizers.join(",")}`);
    expect(drops).toEqual(["mlp:fc1_relu-final|resnet,resnet_l2adv,resnet_rand", "resnet:layer1-final|mlp,resnet_l2adv,resnet_rand"]);
  });

  it("makes no matched comparison without a standard model of the same architecture", () => {
    expect(comparisonPlans(MODELS.filter((m) => m.name !== "resnet")).filter((p) => p.kind === "MATCHED")).toEqual([]);
  });
});

describe("perDigitRecognizability and pairedDifferences", () => {
  const targets = new Map([
    ["m1", { stimulusId: "d1", stage: "final" }],
    ["m2", { stimulusId: "d2", stage: "final" }],
    ["m3", { stimulusId: "d3", stage: "final" }],
    ["m4", { stimulusId: "d1", stage: "layer1" }],
  ]);
  const trials: Trial[] = [
    { recognizerId: "r1", metamerId: "m1", correct: true },
    { recognizerId: "r2", metamerId: "m1", correct: false },
    { recognizerId: "r3", metamerId: "m1", correct: true }, // not a judge of this comparison: ignored
    { recognizerId: "r1", metamerId: "m2", correct: true },
    { recognizerId: "r2", metamerId: "m2", correct: true },
    { recognizerId: "r1", metamerId: "m3", correct: true }, // r2 has not judged m3 yet: left out
    { recognizerId: "r1", metamerId: "m4", correct: false },
    { recognizerId: "r2", metamerId: "m4", correct: false },
    { recognizerId: "r1", metamerId: "mX", correct: true }, // not a validated metamer of the run: ignored
  ];

  it("averages over the judges, per stage and digit, only where every judge has answered", () => {
    const values = perDigitRecognizability(trials, targets, ["r1", "r2"]);
    expect([...values.get("final")!.entries()]).toEqual([["d1", 0.5], ["d2", 1]]);
    expect([...values.get("layer1")!.entries()]).toEqual([["d1", 0]]);
  });

  it("pairs digits present on both sides, in the run's digit order", () => {
    const a = new Map([["d2", 1], ["d1", 0.5], ["d3", 0.25]]);
    const b = new Map([["d1", 0], ["d3", 0.5], ["d4", 1]]);
    expect(pairedDifferences(a, b, ["d1", "d2", "d3", "d4"])).toEqual([0.5, -0.25]);
    expect(pairedDifferences(a, undefined, ["d1"])).toEqual([]);
  });
});

describe("parseCsv", () => {
  it("reads quoted fields, doubled quotes, CRLF and a missing final newline", () => {
    expect(parseCsv('a,b,c\n1,"x, ""y""",\r\n2,z,w')).toEqual([["a", "b", "c"], ["1", 'x, "y"', ""], ["2", "z", "w"]]);
    expect(parseCsv("h\n")).toEqual([["h"]]);
  });
});
