// Archive and delete (issue 13 item 8). Archiving hides a model, stimulus set or batch from lists (readable by id,
// kept for provenance); deleting removes it, and only when nothing else uses it, so no published result loses a row.
import { AppError } from "../errors.js";
import type { ArchivableKind, References } from "../store/archive.js";
import type { ModelRecord } from "../store/models.js";
import type { StimulusSetRecord } from "../store/stimuli.js";
import type { Store } from "../store/store.js";
import { requireRole, type Caller, type RequestContext } from "./authorization.js";
import { isUuid } from "./stimuli.js";
import type { SynthesisBatchView, SynthesisService } from "./synthesis.js";

export interface DeletionResult {
  /** the id of the deleted object */
  id: string;
  /** blobs no row referenced any more, removed with it */
  blobsRemoved: number;
  bytesFreed: number;
}

const WHAT: Record<ArchivableKind, string> = { MODEL: "model", STIMULUS_SET: "stimulus set", SYNTHESIS_BATCH: "synthesis batch" };
const ARG: Record<ArchivableKind, string> = { MODEL: "modelId", STIMULUS_SET: "setId", SYNTHESIS_BATCH: "batchId" };

export class ArchiveService {
  constructor(
    private readonly store: Store,
    private readonly synthesis: SynthesisService,
  ) {}

  /** MEMBER of the owner group: hide the model from lists (archived = true) or show it again. */
  async archiveModel(caller: Caller, modelId: string, archived: boolean): Promise<ModelRecord> {
    await this.setArchived(caller, "MODEL", modelId, archived);
    return (await this.store.models.findById(modelId))!;
  }

  async archiveStimulusSet(caller: Caller, setId: string, archived: boolean): Promise<StimulusSetRecord> {
    const ctx = await this.setArchived(caller, "STIMULUS_SET", setId, archived);
    return (await this.store.stimuli.findSet(ctx.groupId, setId))!;
  }

  async archiveSynthesisBatch(caller: Caller, batchId: string, archived: boolean): Promise<SynthesisBatchView> {
    await this.setArchived(caller, "SYNTHESIS_BATCH", batchId, archived);
    return (await this.synthesis.batch(caller, batchId, { first: 0 }))!;
  }

  /**
   * ADMIN of the owner group: delete the object when nothing references it (CONFLICT naming what does otherwise), and
   * the blobs only it used. Its derived rows go with it: a model's layers, null distributions and the recognitions it
   * made; a set's stimuli and tensors; a batch's jobs, metamers and their recognitions.
   */
  async delete(caller: Caller, kind: ArchivableKind, id: string): Promise<DeletionResult> {
    const ctx = requireRole(caller, "ADMIN");
    return this.store.transaction(async (tx) => {
      const row = await this.owned(tx, ctx, kind, id);
      const refs =
        kind === "MODEL"
          ? await tx.archive.modelReferences(id)
          : kind === "STIMULUS_SET"
            ? await tx.archive.stimulusSetReferences(id)
            : await tx.archive.batchReferences(id);
      if (Object.keys(refs).length) {
        throw new AppError(
          "CONFLICT",
          `${ARG[kind]}: ${describe(refs)} use ${WHAT[kind]} '${row.name}', so it cannot be deleted` +
            `${kind === "SYNTHESIS_BATCH" ? "" : " (delete those first, or archive it instead)"}`,
          { references: refs },
        );
      }
      const blobs =
        kind === "MODEL" ? await tx.archive.deleteModel(id) : kind === "STIMULUS_SET" ? await tx.archive.deleteStimulusSet(id) : await tx.archive.deleteSynthesisBatch(id);
      // Only the blobs this object used, and only those no other row uses (another model's identical file, say).
      const removed = await tx.archive.sweepBlobs(new Date(Date.now() + 1000), blobs);
      return { id, blobsRemoved: removed.length, bytesFreed: removed.reduce((s, b) => s + b.byteSize, 0) };
    });
  }

  private async setArchived(caller: Caller, kind: ArchivableKind, id: string, archived: boolean): Promise<RequestContext> {
    const ctx = requireRole(caller, "MEMBER");
    const row = await this.owned(this.store, ctx, kind, id);
    // Archiving twice keeps the first date (when it was archived is provenance too).
    if (archived !== (row.archivedAt != null)) await this.store.archive.setArchived(kind, id, archived ? new Date() : null);
    return ctx;
  }

  /** The object if it belongs to the caller's group; another group's (even one shared with it) is NOT_FOUND. */
  private async owned(store: Store, ctx: RequestContext, kind: ArchivableKind, id: string) {
    const row = isUuid(id) ? await store.archive.find(kind, id) : null;
    if (!row || row.groupId !== ctx.groupId) throw new AppError("NOT_FOUND", `${ARG[kind]}: no ${WHAT[kind]} '${id}' in this group`);
    return row;
  }
}

/** "2 batches and 140 metamers" */
function describe(refs: References): string {
  const parts = Object.entries(refs).map(([what, n]) => `${n} ${n === 1 ? singular(what) : what}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}` : parts[0];
}

const singular = (what: string): string => (what === "batches" ? "batch" : what.replace(/s$/, ""));
