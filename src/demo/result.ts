/**
 * What one demo run produced, as plain data: the orchestration (main.ts) fills it from the API, and the console
 * summary and the HTML report are pure functions of it, so both can be tested without a service.
 */

export type TrainingRegime = "STANDARD" | "ADVERSARIAL" | "RANDOM_PERTURBATION" | "OTHER";

/** One point of a recognizability curve; mean/low/high are null when no metamer was evaluated there. */
export interface CurvePoint {
  stage: string;
  mean: number | null;
  low: number | null;
  high: number | null;
  /** Validated metamers of this run the point rests on (natural: the digits they came from). */
  n: number;
}

/** Curve points resting on fewer validated metamers than this are flagged (n=3 ⚠). */
export const MIN_POINT_N = 10;

export interface StageValidation {
  stage: string;
  passed: number;
  total: number;
}

/** One metamer shown in the grid: `digit` indexes DemoResult.digits. */
export interface GridMetamer {
  stage: string;
  digit: number;
  /** base64 of the 8-bit PNG the service saved. */
  png: string;
  /** The validation verdict (null and label); null when the certificate is missing. */
  passed: boolean | null;
}

export interface DemoModelResult {
  name: string;
  description: string;
  regime: TrainingRegime;
  epsilon: number | null;
  cleanAccuracy: number | null;
  robustAccuracy: number | null;
  /** Stage labels in network order, first to final. */
  stages: string[];
  /** Recognizability of this model's metamers by the model itself, per stage. */
  generatorCurve: CurvePoint[];
  /** Mean recognizability by every other demo model, per stage. */
  otherModelsCurve: CurvePoint[];
  validation: StageValidation[];
  metamers: GridMetamer[];
}

export interface CrossModelMatrix {
  stage: string;
  generators: string[];
  recognizers: string[];
  /** values[g][r]: accuracy of recognizer r on generator g's metamers; null when there are none. */
  values: (number | null)[][];
  n: number[][];
}

/** A paired test's outcome: mean difference A - B over digits, its bootstrap 95% CI and the sign-flip p-value. */
export interface PairedTestSummary {
  n: number;
  estimate: number;
  low: number;
  high: number;
  p: number;
  exact: boolean;
  permutations: number;
}

/** One paired comparison of the run (src/demo/paired.ts): A's metamers vs B's, digit by digit. */
export interface PairedComparison {
  kind: "MATCHED" | "FIRST_VS_FINAL";
  a: { model: string; stage: string };
  b: { model: string; stage: string };
  /** The recognizers (model names) whose mean correctness is compared. */
  recognizers: string[];
  /** null when no digit has a validated metamer on both sides. */
  test: PairedTestSummary | null;
}

export interface Finding {
  statement: string;
  /** Decided by the test (p-value or CI), never by a point estimate alone. */
  holds: boolean;
  detail: string;
  /** The test the verdict rests on; null when there was nothing to test. */
  test: PairedTestSummary | null;
}

export interface DemoResult {
  title: string;
  createdAt: string;
  serviceUrl: string;
  schedule: { rounds: number; stepsPerRound: number };
  elapsedSeconds: number | null;
  classLabels: string[];
  /** The natural digits shown in the grid (a subset of the stimulus set), in column order. */
  digits: { label: string; png: string }[];
  models: DemoModelResult[];
  crossModel: CrossModelMatrix | null;
  /** Every paired comparison (matched architectures at each stage, standard models' first vs final stage). */
  comparisons: PairedComparison[];
  findings: Finding[];
}
