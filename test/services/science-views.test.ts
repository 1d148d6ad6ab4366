import { describe, expect, it } from "vitest";
import { certify } from "../../src/engine/index.js";
import { jsonSafe } from "../../src/services/jobs/handlers/json-safe.js";
import { certificateView, historyView, synthesisConfigView } from "../../src/services/science-views.js";

// Issue 13 item 4: the stored JSON as typed views; older certificates read as what they meant.
describe("typed views of the stored science objects", () => {
  it("a current certificate: per-metric verdicts, the null's source, markers; infinite SNR as null", () => {
    const a = Float32Array.from([5, 3, 1, 0, 2]);
    const source = { kind: "REFERENCE" as const, referenceNullId: "r", setId: "s", augmentation: { cropMinScale: 0.8, flip: false, jitter: 0, noiseSnrDb: null }, n: 100_000, seed: 2 };
    const stored = jsonSafe(certify({
      naturalActivations: a, metamerActivations: a.slice(), naturalLabel: "1", metamerLabel: "1", nullSource: source, fromSynthesisSet: false,
      nullStats: { n: 100_000, seed: 2, maxima: { spearman: 1, pearson: 0.9, snr: 8 }, quantiles: {} as never },
    })) as Record<string, unknown>;
    const v = certificateView(stored);
    expect(v.similarity).toEqual({ spearman: 1, pearson: 1, snr: null });
    expect(v.metrics.map((m) => [m.metric, m.passed, m.uninformative])).toEqual([["spearman", true, true], ["pearson", true, false], ["snr", true, false]]);
    expect(v.metrics[2].value).toBeNull();
    expect(v).toMatchObject({ nullPairs: 100_000, nullSeed: 2, uninformative: ["spearman"], underpowered: false, passed: true, nullMaxima: { spearman: 1, pearson: 0.9, snr: 8 } });
    expect(v.nullSource).toEqual(source);
  });

  it("a certificate from before reference nulls: the per-set null, underpowered, ties read as uninformative", () => {
    const v = certificateView({
      similarity: { spearman: 1, pearson: 0.95, snr: 4 }, null: { n: 45, seed: 0, maxima: { spearman: 1, pearson: 0.9, snr: 5 } },
      passedNull: false, tiedAtCeiling: ["spearman"], naturalLabel: "3", metamerLabel: "3", passedLabel: true, passed: false,
    });
    expect(v.nullSource).toEqual({ kind: "SYNTHESIS_SET", referenceNullId: null, setId: null, augmentation: null, n: 45, seed: 0 });
    expect(v.underpowered).toBe(true);
    expect(v.uninformative).toEqual(["spearman"]);
    expect(v.metrics.map((m) => m.passed)).toEqual([true, true, false]);
  });

  it("configs and histories", () => {
    expect(synthesisConfigView({ recipe: "FEATHER_2023", rounds: 8, stepsPerRound: 150, initialStep: 1, historyEvery: 50 })).toMatchObject({
      recipe: "FEATHER_2023", rounds: 8, stepsPerRound: 150, learningRate: null, nullSource: null,
    });
    expect(synthesisConfigView({ recipe: "FEATHER_2023", nullSource: { kind: "REFERENCE", setId: "s", augmentation: null, n: 100_000, seed: 0 } }).nullSource)
      .toMatchObject({ kind: "REFERENCE", setId: "s", n: 100_000 });
    expect(historyView([{ iteration: 1, loss: 0.5, gradientNorm: 2, stepSize: 1 }, { final: true, iteration: 30, loss: 0.1, stopReason: "completed" }])).toEqual([
      { iteration: 1, loss: 0.5, gradientNorm: 2, stepSize: 1, final: false, stopReason: null },
      { iteration: 30, loss: 0.1, gradientNorm: null, stepSize: null, final: true, stopReason: "completed" },
    ]);
  });
});
