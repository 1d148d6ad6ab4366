import { AppError } from "../errors.js";
import type { LayerRecord, ModelRecord } from "../store/models.js";
import type { Store } from "../store/store.js";
import { type Caller, requireRole } from "./authorization.js";

/**
 * Stages by tensor name or label (issue 13 item 2). Every argument that names a stage goes through `findStage`
 * (synthesis through ModelService.resolveStage, the metrics through `resolveStage` here), so a label works wherever a
 * tensor name does, and a stage that does not exist is a BAD_USER_INPUT listing the model's stages, never an empty
 * result. Results are stored by tensor name; labels are metadata that `setStageLabels` may change at any time.
 */

/** A stage as stored (the tensor) and as the lab calls it (its label, if any). */
export interface StageRef {
  stage: string;
  stageLabel: string | null;
}

/** Stages listed in an error message at most (a large model has thousands of tensors). */
const STAGES_SHOWN = 60;
const LABEL_MAX = 100;

/** `natural` (the curves' natural point) or `natural_image` / `natural_audio` (imported human data). */
export const isNaturalStage = (stage: string) => stage === "natural" || stage.startsWith("natural_");

/**
 * Why `label` may not name stage `target` (undefined: it may), for registerModel and setStageLabels alike: natural*
 * names the natural stimuli, and `final` may label only the last stage (registerModel and the demo manifest use it
 * so), where it means what FINAL means.
 */
export function reservedLabelProblem(label: string, target: string, lastStage: string | undefined): string | undefined {
  if (isNaturalStage(label)) return `'${label}' is reserved (natural* names the natural stimuli)`;
  if (label.toUpperCase() === "FINAL" && target !== lastStage) {
    return `'${label}' may only label the last stage (${lastStage}), as FINAL means the last stage; got stage ${target}`;
  }
  return undefined;
}

/** "label (tensor)" or "tensor", for messages. */
const shownName = (l: LayerRecord) => (l.label ? `${l.label} (${l.name})` : l.name);

function stageList(layers: LayerRecord[]): string {
  const names = layers.map(shownName);
  return names.slice(0, STAGES_SHOWN).join(", ") + (names.length > STAGES_SHOWN ? `, … (${names.length} in all)` : "");
}

/**
 * The layer `stage` names in `layers`: a tensor name, a label of `model.stageLabels`, or (with `final`) FINAL in any
 * case for the last stage in network order. With `natural`, natural stage names resolve to themselves with no layer.
 * Unknown: BAD_USER_INPUT naming `argument` and listing the stages (extensions.stages has them all).
 */
export function findStage(
  model: Pick<ModelRecord, "name" | "stageLabels">,
  layers: LayerRecord[],
  stage: string,
  argument: string,
  opts: { final?: boolean; natural?: boolean } = {},
): { layer: LayerRecord | null } & StageRef {
  if (opts.natural && isNaturalStage(stage)) return { layer: null, stage, stageLabel: null };
  const sorted = [...layers].sort((a, b) => a.order - b.order);
  const layer =
    opts.final && stage.toUpperCase() === "FINAL"
      ? sorted.at(-1)
      : (layers.find((l) => l.name === stage) ?? layers.find((l) => l.name === model.stageLabels[stage]));
  if (!layer) {
    const expected = layers.length === 0 ? "it has no stages" : `its stages: ${stageList(sorted)}${opts.final ? "; or FINAL for the last" : ""}`;
    throw new AppError("BAD_USER_INPUT", `${argument}: no stage '${stage}' (tensor name or label) in model ${model.name}; ${expected}`, {
      stages: sorted.map((l) => ({ stage: l.name, stageLabel: l.label })),
    });
  }
  const label = layer.label ?? Object.entries(model.stageLabels).find(([, tensor]) => tensor === layer.name)?.[0] ?? null;
  return { layer, stage: layer.name, stageLabel: label };
}

/** findStage with the model's layers loaded. */
export async function resolveStage(
  store: Store,
  model: ModelRecord,
  stage: string,
  argument: string,
  opts: { final?: boolean; natural?: boolean } = {},
): Promise<StageRef> {
  const { stage: tensor, stageLabel } = findStage(model, await store.models.layers(model.id), stage, argument, opts);
  return { stage: tensor, stageLabel };
}

/** tensor -> label of a model, for outputs that show stages. */
export async function stageLabelsOf(store: Store, modelId: string): Promise<Map<string, string>> {
  const layers = await store.models.layers(modelId);
  return new Map(layers.filter((l) => l.label).map((l) => [l.name, l.label!]));
}

export interface StageLabelInput {
  label: string;
  /** A tensor name (or the stage's current label). */
  stage: string;
}

export class StageService {
  constructor(private readonly store: Store) {}

  /**
   * tensor -> label of the generator of an object the caller already holds (a metamer's model, a job's batch): for
   * the `stageLabel` of outputs. Labels are metadata of a model the caller sees through that object.
   */
  async labelsFor(ref: { modelId: string } | { batchId: string }): Promise<Map<string, string>> {
    const modelId = "modelId" in ref ? ref.modelId : (await this.store.metrics.batchConfigurations([ref.batchId]))[0]?.modelId;
    return modelId ? stageLabelsOf(this.store, modelId) : new Map();
  }

  /**
   * MEMBER, on a model of the caller's group: replaces all of the model's stage labels by `labels` (an empty list
   * removes them). Each label names one stage, a stage has at most one label, and a label may be neither another
   * stage's tensor name nor a natural stage name, and `final` may only label the last stage (they would make a stage
   * argument ambiguous).
   */
  async setStageLabels(caller: Caller, modelId: string, labels: StageLabelInput[]): Promise<ModelRecord> {
    const ctx = requireRole(caller, "MEMBER");
    const model = /^[0-9a-f-]{36}$/i.test(modelId) ? await this.store.models.findVisible(ctx.groupId, modelId) : null;
    if (!model) throw new AppError("NOT_FOUND", `modelId: no model '${modelId}' visible to this group`);
    if (model.groupId !== ctx.groupId) {
      throw new AppError("FORBIDDEN", `modelId: model ${model.name} v${model.version} belongs to another group; only its group may label its stages`);
    }
    const layers = await this.store.models.layers(model.id);
    if (labels.length > layers.length) {
      throw new AppError("BAD_USER_INPUT", `labels: at most one label per stage (${layers.length} stages in model ${model.name}), got ${labels.length}`);
    }
    const tensors = new Set(layers.map((l) => l.name));
    const lastStage = [...layers].sort((a, b) => a.order - b.order).at(-1)?.name;
    const next: Record<string, string> = {};
    const labelOf = new Map<string, string>();
    for (const [i, { label, stage }] of labels.entries()) {
      const where = `labels[${i}].label`;
      if (label.length === 0 || label.length > LABEL_MAX || label.trim() !== label || /[\p{Cc}]/u.test(label)) {
        throw new AppError("BAD_USER_INPUT", `${where}: expected 1-${LABEL_MAX} characters without surrounding spaces or control characters, got '${label}'`);
      }
      const target = findStage(model, layers, stage, `labels[${i}].stage`).stage;
      const reserved = reservedLabelProblem(label, target, lastStage);
      if (reserved) throw new AppError("BAD_USER_INPUT", `${where}: ${reserved}`);
      if (tensors.has(label) && label !== target) {
        throw new AppError("BAD_USER_INPUT", `${where}: '${label}' is the tensor name of another stage; a label must not shadow a tensor`);
      }
      if (label in next) throw new AppError("BAD_USER_INPUT", `${where}: '${label}' is given twice (for ${next[label]} and ${target})`);
      if (labelOf.has(target)) {
        throw new AppError("BAD_USER_INPUT", `labels[${i}].stage: stage ${target} already has the label '${labelOf.get(target)}'; a stage has at most one label`);
      }
      next[label] = target;
      labelOf.set(target, label);
    }
    await this.store.transaction((tx) => tx.stageLabels.replace(model.id, next));
    return (await this.store.models.findVisible(ctx.groupId, model.id))!;
  }
}
