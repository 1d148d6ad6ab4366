// The metrics' view types (what MetricsService returns and the GraphQL and CSV layers show) and the arguments of the
// queries the CSV export reuses. A module of its own so that export.ts and recognizability-service.ts both depend on
// it and not on each other.
import type { PermutationEffect } from "../../engine/index.js";
import type { StagePoint } from "../../store/metrics.js";

export type Observer = "HUMAN" | "GENERATOR" | "OTHER_MODELS" | "MODEL";

export interface Interval {
  low: number;
  high: number;
}

export interface BootstrapInfo {
  seed: number;
  resamples: number;
}

export interface Recognizability {
  modelId: string;
  stage: string;
  observer: Observer;
  /** Null when there is no data for this (model, stage, observer). */
  mean: number | null;
  sem: number | null;
  ci95: Interval | null;
  /** Participants (HUMAN), recognizers (OTHER_MODELS) or metamers (GENERATOR, MODEL). */
  n: number;
  /** Metamers evaluated per recognizer (model observers); null for HUMAN. */
  metamers: number | null;
  bootstrap: BootstrapInfo;
}

export interface CurvePoint extends StagePoint {
  natural: boolean;
}

export interface MatrixCellResult {
  generatorId: string;
  recognizerId: string;
  stage: string;
  accuracy: number;
  n: number;
}

export interface IdiosyncrasyPoint {
  modelId: string;
  model: string;
  stage: string;
  human: number;
  otherModels: number;
}

/** The paper says VISION where the model registry says IMAGE; both are accepted. */
export type StudyModality = "VISION" | "IMAGE" | "AUDIO";

export interface Idiosyncrasy {
  modality: StudyModality;
  excludeStages: string[];
  spearmanRho: number;
  pearsonR: number;
  r2: number;
  kendallTau: number;
  n: number;
  /** Bootstrap percentile CI of Spearman's rho, resampling (model, stage) points. */
  ci95: Interval;
  bootstrap: BootstrapInfo;
  points: IdiosyncrasyPoint[];
}

export interface PermutationTestSummary {
  design: "REPEATED_MEASURES" | "MIXED";
  /** The factor compared (model or observer), the stage factor and their interaction. */
  factor: PermutationEffect;
  stage: PermutationEffect;
  interaction: PermutationEffect;
  stages: string[];
  /** Participants entering the test (per group for MIXED, summed). */
  subjects: number;
  permutations: number;
  seed: number;
}

export interface BootstrapArgs {
  seed?: number;
  resamples?: number;
}

export interface CurveArgs {
  modelId: string;
  observer: Observer;
  recognizerId?: string | null;
}

export interface MatrixArgs {
  generatorIds: string[];
  recognizerIds: string[];
  /** A stage name, or FINAL / null: each generator's own last stage. */
  stage?: string | null;
}

export type IdiosyncrasyArgs = { modality: StudyModality; excludeStages?: string[] | null; studyId?: string | null } & BootstrapArgs;
