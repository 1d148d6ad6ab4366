import type { CurvePoint, DemoModelResult, Finding } from "./result.js";

/**
 * The paper's qualitative findings, as checks on the other-model recognizability curves:
 * 1. every standard model: final-stage other-model recognizability at least FIRST_TO_FINAL_DROP below its first stage;
 * 2. the adversarially trained model's final stage beats the standard models' mean by at least ROBUST_MARGIN;
 * 3. the random-perturbation control's does not.
 */
export const FIRST_TO_FINAL_DROP = 0.3;
export const ROBUST_MARGIN = 0.2;

const fmt = (v: number | null) => (v === null ? "n/a" : v.toFixed(2));

/** The curve's value at the first / final model stage (curves may also hold a leading "natural" point). */
export function stageValue(model: DemoModelResult, which: "first" | "final"): number | null {
  const stage = which === "first" ? model.stages[0] : model.stages[model.stages.length - 1];
  const point: CurvePoint | undefined = model.otherModelsCurve.find((p) => p.stage === stage);
  return point?.mean ?? null;
}

export function evaluateFindings(models: DemoModelResult[]): Finding[] {
  const findings: Finding[] = [];
  const standard = models.filter((m) => m.regime === "STANDARD");
  for (const m of standard) {
    const first = stageValue(m, "first");
    const final = stageValue(m, "final");
    const drop = first !== null && final !== null ? first - final : null;
    findings.push({
      statement: `${m.name}: other models recognise its final-stage metamers at least ${FIRST_TO_FINAL_DROP} less than its first-stage ones`,
      holds: drop !== null && drop >= FIRST_TO_FINAL_DROP,
      detail: `first stage ${fmt(first)}, final stage ${fmt(final)}, drop ${fmt(drop)}`,
    });
  }
  const standardFinals = standard.map((m) => stageValue(m, "final")).filter((v): v is number => v !== null);
  const standardMean = standardFinals.length ? standardFinals.reduce((a, b) => a + b, 0) / standardFinals.length : null;
  const compare = (regime: "ADVERSARIAL" | "RANDOM_PERTURBATION", shouldExceed: boolean) => {
    for (const m of models.filter((x) => x.regime === regime)) {
      const final = stageValue(m, "final");
      const margin = final !== null && standardMean !== null ? final - standardMean : null;
      const exceeds = margin !== null && margin >= ROBUST_MARGIN;
      findings.push({
        statement: shouldExceed
          ? `${m.name} (adversarially trained): final-stage other-model recognizability exceeds the standard models' mean by at least ${ROBUST_MARGIN}`
          : `${m.name} (random-perturbation control): final-stage other-model recognizability does not exceed the standard models' mean by ${ROBUST_MARGIN}`,
        holds: margin !== null && exceeds === shouldExceed,
        detail: `final stage ${fmt(final)} vs standard mean ${fmt(standardMean)} (difference ${fmt(margin)})`,
      });
    }
  };
  compare("ADVERSARIAL", true);
  compare("RANDOM_PERTURBATION", false);
  return findings;
}
