import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

/**
 * Stage labels are metadata, not the model (issue 13): Model.stageLabels (label -> tensor) and Layer.label (the
 * tensor's label) are rewritten together. Results are keyed by tensor names, so relabelling changes no result.
 */
export class StageLabelStore {
  constructor(private readonly db: DbOrTx) {}

  /** Replaces every label of the model (`labels`: label -> tensor; each tensor at most once). */
  async replace(modelId: string, labels: Record<string, string>): Promise<void> {
    const byTensor = new Map(Object.entries(labels).map(([label, tensor]) => [tensor, label]));
    await this.db.model.update({ where: { id: modelId }, data: { stageLabels: labels as Prisma.InputJsonValue } });
    await this.db.layer.updateMany({ where: { modelId }, data: { label: null } });
    for (const [tensor, label] of byTensor) await this.db.layer.updateMany({ where: { modelId, name: tensor }, data: { label } });
  }
}
