// The demo models' manifest (models/demo/manifest.json, written by examples/pytorch/train_mnist_models.py) and the
// choice of which models and stages a run uses.
import { readFileSync } from "node:fs";
import path from "node:path";
import { ApiError } from "../cli/client.js";
import type { TrainingRegime } from "./result.js";

export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
export const DEMO_MODELS_DIR = path.join(REPO_ROOT, "models", "demo");

export interface ManifestModel {
  file: string;
  architectureDescription: string;
  trainingRegime: "standard" | "l2_pgd_adversarial" | "l2_random_perturbation";
  cleanTestAccuracy: number;
  robustTestAccuracy: { accuracy: number; epsilon: number };
  adversarialTraining?: { epsilon: number };
  randomPerturbationTraining?: { epsilon: number };
  /** Stage label -> tensor name, first stage to final. */
  stages: Record<string, string>;
}

export interface Manifest {
  models: Record<string, ManifestModel>;
  classLabels: string[];
  input: { range: [number, number] };
}

export const REGIMES: Record<ManifestModel["trainingRegime"], TrainingRegime> = {
  standard: "STANDARD",
  l2_pgd_adversarial: "ADVERSARIAL",
  l2_random_perturbation: "RANDOM_PERTURBATION",
};

/** The training ε of an adversarial or random-perturbation model; null for a standard one. */
export const trainingEpsilon = (m: ManifestModel): number | null =>
  m.adversarialTraining?.epsilon ?? m.randomPerturbationTraining?.epsilon ?? null;

export function readManifest(modelsDir: string): Manifest {
  const file = path.join(modelsDir, "manifest.json");
  const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  if (!manifest.models || typeof manifest.models !== "object" || !Array.isArray(manifest.classLabels)) {
    throw new ApiError(`${file}: expected { models: {...}, classLabels: [...] }, got keys ${Object.keys(manifest).join(", ")}`, "BAD_USER_INPUT");
  }
  return manifest;
}

/**
 * `count` stages spread evenly over the network, always the first and the final one when count >= 2 (the paper's
 * findings compare those two); one stage is the final one. All of them when count is undefined.
 */
export function spreadStages(stages: string[], count?: number): string[] {
  if (count === undefined || count >= stages.length) return stages;
  if (count === 1) return [stages[stages.length - 1]];
  return Array.from({ length: count }, (_, k) => stages[Math.round((k * (stages.length - 1)) / (count - 1))]);
}

/** What one demo model contributes to a run: its manifest entry with the stages the run uses. */
export interface DemoModel {
  name: string;
  entry: ManifestModel;
  /** Stage label -> tensor name, the stages this run synthesizes, in network order. */
  stages: Record<string, string>;
  /** True when the run uses every stage of the model (the idempotency key then stays what earlier demos used). */
  allStages: boolean;
}

/** The models (manifest order unless named) and their stages for a run; unknown names and bad counts are errors. */
export function selectModels(manifest: Manifest, names: string[] | undefined, stagesPerModel: number | undefined): DemoModel[] {
  const known = Object.keys(manifest.models);
  const chosen = names ?? known;
  if (chosen.length === 0) throw new ApiError(`models: expected at least one of ${known.join(", ")}, got none`, "BAD_USER_INPUT");
  const unknown = chosen.filter((n) => !known.includes(n));
  if (unknown.length) throw new ApiError(`models: expected names from ${known.join(", ")}, got ${unknown.join(", ")}`, "BAD_USER_INPUT");
  if (new Set(chosen).size !== chosen.length) throw new ApiError(`models: expected each model once, got ${chosen.join(", ")}`, "BAD_USER_INPUT");
  if (stagesPerModel !== undefined && (!Number.isInteger(stagesPerModel) || stagesPerModel < 1)) {
    throw new ApiError(`stagesPerModel: expected a positive integer, got ${stagesPerModel}`, "BAD_USER_INPUT");
  }
  return chosen.map((name) => {
    const entry = manifest.models[name];
    const labels = spreadStages(Object.keys(entry.stages), stagesPerModel);
    return {
      name,
      entry,
      stages: Object.fromEntries(labels.map((l) => [l, entry.stages[l]])),
      allStages: labels.length === Object.keys(entry.stages).length,
    };
  });
}
