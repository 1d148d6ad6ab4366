import type { CurvePoint, DemoModelResult, Finding, PairedComparison, PairedTestSummary } from "./result.js";

/**
 * The paper's qualitative findings, each decided by a paired test over digits (src/demo/paired.ts; the statistic runs
 * in the service: pairedDifferenceTest), never by a point estimate:
 * 1. every standard model: other models recognise its final-stage metamers less than its first-stage ones
 *    (first - final > 0, two-sided sign-flip p < ALPHA);
 * 2. the adversarially trained model's final-stage metamers are recognised better than those of the standard model of
 *    the same architecture (l2adv - standard > 0, p < ALPHA; judged by the models that are neither);
 * 3. the random-perturbation control's are not: the 95% CI of (rand - standard) lies below ROBUST_MARGIN, so an
 *    advantage as large as that is excluded (a non-significant difference alone would only be absence of evidence).
 */
export const ALPHA = 0.05;
export const ROBUST_MARGIN = 0.2;

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(2));

/** p to 2 significant digits; exact p-values say so. */
export const fmtP = (t: PairedTestSummary) => `p = ${t.p < 0.001 ? t.p.toExponential(1) : t.p.toPrecision(2)}${t.exact ? " (exact)" : ""}`;

/** "+0.17 [0.05, 0.29], p = 0.01, n = 87 digits" */
export const fmtTest = (t: PairedTestSummary) =>
  `${t.estimate >= 0 ? "+" : ""}${t.estimate.toFixed(2)} [${t.low.toFixed(2)}, ${t.high.toFixed(2)}], ${fmtP(t)}, n = ${t.n} digit${t.n === 1 ? "" : "s"}`;

/** The curve's value at the first / final model stage (curves may also hold a leading "natural" point). */
export function stageValue(model: DemoModelResult, which: "first" | "final"): number | null {
  const stage = which === "first" ? model.stages[0] : model.stages[model.stages.length - 1];
  const point: CurvePoint | undefined = model.otherModelsCurve.find((p) => p.stage === stage);
  return point?.mean ?? null;
}

const finalStage = (m: DemoModelResult) => m.stages[m.stages.length - 1];

export function evaluateFindings(models: DemoModelResult[], comparisons: PairedComparison[]): Finding[] {
  const findings: Finding[] = [];
  const untested = (statement: string, why: string): Finding => ({ statement, holds: false, detail: why, test: null });
  for (const m of models.filter((x) => x.regime === "STANDARD")) {
    const statement = `${m.name}: other models recognise its final-stage metamers less than its first-stage ones (paired over digits, p < ${ALPHA})`;
    const c = comparisons.find((x) => x.kind === "FIRST_VS_FINAL" && x.a.model === m.name);
    if (!c?.test) {
      findings.push(untested(statement, c ? "no digit has a validated metamer at both stages" : "the run has a single stage of this model"));
      continue;
    }
    findings.push({
      statement,
      holds: c.test.p < ALPHA && c.test.estimate > 0,
      detail: `${c.a.stage} ${fmt(stageValue(m, "first"))} vs ${c.b.stage} ${fmt(stageValue(m, "final"))}; drop ${fmtTest(c.test)}`,
      test: c.test,
    });
  }
  const matched = (m: DemoModelResult) =>
    comparisons.find((x) => x.kind === "MATCHED" && x.a.model === m.name && x.a.stage === finalStage(m));
  for (const m of models.filter((x) => x.regime === "ADVERSARIAL")) {
    const c = matched(m);
    const statement = `${m.name} (adversarially trained): final-stage metamers recognised better than those of ${c?.b.model ?? "the matched standard model"} (paired over digits, p < ${ALPHA})`;
    if (!c?.test) {
      findings.push(untested(statement, c ? "no digit has a validated final-stage metamer of both models" : "the run has no standard model of the same architecture"));
      continue;
    }
    findings.push({ statement, holds: c.test.p < ALPHA && c.test.estimate > 0, detail: `${m.name} - ${c.b.model}: ${fmtTest(c.test)}; judged by ${c.recognizers.join(", ")}`, test: c.test });
  }
  for (const m of models.filter((x) => x.regime === "RANDOM_PERTURBATION")) {
    const c = matched(m);
    const statement = `${m.name} (random-perturbation control): no final-stage advantage of ${ROBUST_MARGIN} or more over ${c?.b.model ?? "the matched standard model"} (95% CI upper bound < ${ROBUST_MARGIN})`;
    if (!c?.test) {
      findings.push(untested(statement, c ? "no digit has a validated final-stage metamer of both models" : "the run has no standard model of the same architecture"));
      continue;
    }
    findings.push({ statement, holds: c.test.high < ROBUST_MARGIN, detail: `${m.name} - ${c.b.model}: ${fmtTest(c.test)}; judged by ${c.recognizers.join(", ")}`, test: c.test });
  }
  return findings;
}
