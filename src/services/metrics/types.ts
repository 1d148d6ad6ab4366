// The metrics' view types (what MetricsService returns and the GraphQL and CSV layers show) and the arguments of the
// queries the CSV export reuses. A module of its own so that export.ts and recognizability-service.ts both depend on
// it and not on each other.
import type { PermutationEffect } from "../../engine/index.js";
import type { StagePoint } from "../../store/metrics.js";
import type { PanelArgs, SelectionArgs } from "./selection.js";

export type { PanelArgs, SelectionArgs };

/** What every model-observer result says about where it came from (issue 12 item 3, issue 13 item 3). */
export interface ResultProvenance {
  /** The configurations whose metamers entered (`study:<id>` for imported results; empty for HUMAN and natural). */
  configHashes: string[];
  /** The recognizers whose answers entered, and how many. */
  recognizerIds: string[];
  recognizerCount: number;
  /** The recognizer panel used, or null (every recognizer with results). */
  panelId: string | null;
}

export type Observer = "HUMAN" | "GENERATOR" | "OTHER_MODELS" | "MODEL";

export interface Interval {
  low: number;
  high: number;
}

export interface BootstrapInfo {
  seed: number;
  resamples: number;
}

export interface Recognizability extends ResultProvenance {
  modelId: string;
  stage: string;
  stageLabel: string | null;
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

export interface CurvePoint extends StagePoint, ResultProvenance {
  natural: boolean;
  stageLabel: string | null;
}

export interface MatrixCellResult {
  generatorId: string;
  recognizerId: string;
  stage: string;
  stageLabel: string | null;
  accuracy: number;
  n: number;
  configHashes: string[];
}

export interface IdiosyncrasyPoint {
  modelId: string;
  model: string;
  stage: string;
  stageLabel: string | null;
  human: number;
  otherModels: number;
  recognizerCount: number;
  configHashes: string[];
}

/** The paper says VISION where the model registry says IMAGE; both are accepted. */
export type StudyModality = "VISION" | "IMAGE" | "AUDIO";

export interface Idiosyncrasy extends ResultProvenance {
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

export type CurveArgs = {
  modelId: string;
  observer: Observer;
  recognizerId?: string | null;
} & SelectionArgs & PanelArgs;

export type MatrixArgs = {
  generatorIds: string[];
  /** Recognizers; or a panel (panelId); neither: every recognizer with results. */
  recognizerIds?: string[] | null;
  /** A tensor name or stage label (of each generator), or FINAL / null: each generator's own last stage. */
  stage?: string | null;
} & SelectionArgs & PanelArgs;

export type IdiosyncrasyArgs = { modality: StudyModality; excludeStages?: string[] | null; studyId?: string | null } & BootstrapArgs &
  SelectionArgs & PanelArgs;
