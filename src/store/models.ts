import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";
import type { Modality, ModelSource, TrainingRegime, Visibility } from "../generated/prisma/enums.js";
import { afterTimeId, timeIdKey, toPage, type Page } from "./pagination.js";
import { asViewer, VisibilityStore, type Viewer } from "./visibility.js";

/** An op on the path from the input to a layer that has no gradient rule (stored as JSON). */
export interface UnsupportedOpRecord {
  opType: string;
  opset: number;
  nodeName: string;
  reason?: string;
}

export interface LayerRecord {
  name: string;
  label: string | null;
  shape: number[];
  producerOp: string;
  order: number;
  differentiable: boolean;
  unsupportedOps: UnsupportedOpRecord[];
}

export interface ModelRecord {
  id: string;
  groupId: string;
  name: string;
  version: number;
  source: ModelSource;
  visibility: Visibility;
  studyId: string | null;
  modality: Modality;
  sha256: string | null;
  byteSize: number | null;
  opset: number | null;
  inputName: string | null;
  inputShape: number[];
  inputRange: number[];
  sampleRate: number | null;
  outputName: string | null;
  classLabels: string[];
  training: { regime: TrainingRegime; norm: string | null; epsilon: number | null };
  /** friendly stage name -> tensor name */
  stageLabels: Record<string, string>;
  /** the input normalization baked into the file (issue 13), or null */
  normalization: { mean: number[]; std: number[] } | null;
  /** sha256 of the file as uploaded, when the hub changed it (normalization); null otherwise */
  originalSha256: string | null;
  tags: string[];
  archivedAt: Date | null;
  createdAt: Date;
}

export type NewModel = Omit<
  ModelRecord,
  "id" | "version" | "createdAt" | "visibility" | "source" | "studyId" | "normalization" | "originalSha256" | "tags" | "archivedAt"
> & {
  normalization?: { mean: number[]; std: number[] } | null;
  originalSha256?: string | null;
  source?: ModelSource;
  visibility?: Visibility;
  studyId?: string | null;
};

export interface ModelFilter {
  name?: string | null;
  modality?: Modality | null;
  /** The filter grammar (README): a list matches any of its values; every field given must hold. */
  names?: string[] | null;
  modalities?: Modality[] | null;
  regimes?: TrainingRegime[] | null;
  /** models carrying this tag / any of these tags */
  tag?: string | null;
  tags?: string[] | null;
  /** true: only archived models; false or absent: only models not archived (archived ones are hidden from lists) */
  archived?: boolean | null;
}

type ModelRow = Prisma.ModelGetPayload<object>;

function toRecord(r: ModelRow): ModelRecord {
  return {
    id: r.id,
    groupId: r.groupId,
    name: r.name,
    version: r.version,
    source: r.source,
    visibility: r.visibility,
    studyId: r.studyId,
    modality: r.modality,
    sha256: r.sha256,
    byteSize: r.byteSize == null ? null : Number(r.byteSize),
    opset: r.opset,
    inputName: r.inputName,
    inputShape: r.inputShape,
    inputRange: r.inputRange,
    sampleRate: r.sampleRate,
    outputName: r.outputName,
    classLabels: r.classLabels,
    training: { regime: r.trainingRegime, norm: r.trainingNorm, epsilon: r.trainingEpsilon },
    stageLabels: (r.stageLabels ?? {}) as Record<string, string>,
    normalization: r.normalizationMean?.length ? { mean: r.normalizationMean, std: r.normalizationStd } : null,
    originalSha256: r.originalSha256,
    tags: r.tags ?? [],
    archivedAt: r.archivedAt,
    createdAt: r.createdAt,
  };
}

export class ModelStore {
  constructor(private readonly db: DbOrTx) {}

  /**
   * Inserts a new immutable version of `name` in the group (version = previous max + 1) with its layers.
   * Call inside `store.transaction` so a failure leaves no partial model.
   */
  async create(model: NewModel, layers: LayerRecord[]): Promise<ModelRecord> {
    const latest = await this.db.model.aggregate({
      where: { groupId: model.groupId, name: model.name },
      _max: { version: true },
    });
    const row = await this.db.model.create({
      data: {
        groupId: model.groupId,
        name: model.name,
        version: (latest._max.version ?? 0) + 1,
        source: model.source ?? "UPLOADED",
        visibility: model.visibility ?? "PRIVATE",
        studyId: model.studyId ?? null,
        modality: model.modality,
        sha256: model.sha256,
        byteSize: model.byteSize == null ? null : BigInt(model.byteSize),
        opset: model.opset,
        inputName: model.inputName,
        inputShape: model.inputShape,
        inputRange: model.inputRange,
        sampleRate: model.sampleRate,
        outputName: model.outputName,
        classLabels: model.classLabels,
        trainingRegime: model.training.regime,
        trainingNorm: model.training.norm,
        trainingEpsilon: model.training.epsilon,
        stageLabels: model.stageLabels,
        normalizationMean: model.normalization?.mean ?? [],
        normalizationStd: model.normalization?.std ?? [],
        originalSha256: model.originalSha256 ?? null,
        layers: {
          createMany: {
            data: layers.map((l) => ({ ...l, unsupportedOps: l.unsupportedOps as unknown as Prisma.InputJsonValue })),
          },
        },
      },
    });
    return toRecord(row);
  }

  /**
   * A model the viewer may read (src/store/visibility.ts: own, shared, of a shared study, or a shared batch's
   * generator), or null: another group's private model is indistinguishable from a missing one. `kind` MODEL_FILE
   * asks for the stricter right to use its ONNX file (synthesis, recognition, download).
   */
  async findVisible(viewer: Viewer | string, id: string, kind: "MODEL" | "MODEL_FILE" = "MODEL"): Promise<ModelRecord | null> {
    if (!(await new VisibilityStore(this.db).isVisible(asViewer(viewer), kind, id))) return null;
    const row = await this.db.model.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** Any model by id, ignoring groups: for workers that already hold an authorised job. */
  async findById(id: string): Promise<ModelRecord | null> {
    const row = await this.db.model.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async layers(modelId: string): Promise<LayerRecord[]> {
    const rows = await this.db.layer.findMany({ where: { modelId }, orderBy: { order: "asc" } });
    return rows.map((r) => ({
      name: r.name,
      label: r.label,
      shape: r.shape,
      producerOp: r.producerOp,
      order: r.order,
      differentiable: r.differentiable,
      unsupportedOps: r.unsupportedOps as unknown as UnsupportedOpRecord[],
    }));
  }

  /**
   * The newest version of `name` in the group whose stored file is `sha256` (re-registering an identical file
   * returns it, issue 13), or null.
   */
  async findSameFile(groupId: string, name: string, sha256: string): Promise<ModelRecord | null> {
    const row = await this.db.model.findFirst({ where: { groupId, name, sha256 }, orderBy: { version: "desc" } });
    return row ? toRecord(row) : null;
  }

  async setTags(id: string, tags: string[]): Promise<ModelRecord> {
    return toRecord(await this.db.model.update({ where: { id }, data: { tags } }));
  }

  /** Sets or clears archivedAt (null: unarchive). */
  async setArchived(id: string, at: Date | null): Promise<ModelRecord> {
    return toRecord(await this.db.model.update({ where: { id }, data: { archivedAt: at } }));
  }

  /** Newest first; keyset pagination on (createdAt, id). */
  async list(viewer: Viewer | string, opts: { first: number; after?: string | null; filter?: ModelFilter }): Promise<Page<ModelRecord>> {
    const where: Prisma.ModelWhereInput = {
      AND: [
        await new VisibilityStore(this.db).where(asViewer(viewer), "MODEL"),
        opts.filter?.name ? { name: opts.filter.name } : {},
        opts.filter?.modality ? { modality: opts.filter.modality } : {},
        opts.filter?.names ? { name: { in: opts.filter.names } } : {},
        opts.filter?.modalities ? { modality: { in: opts.filter.modalities } } : {},
        opts.filter?.regimes ? { trainingRegime: { in: opts.filter.regimes } } : {},
        opts.filter?.tag ? { tags: { has: opts.filter.tag } } : {},
        opts.filter?.tags ? { tags: { hasSome: opts.filter.tags } } : {},
        opts.filter?.archived ? { archivedAt: { not: null } } : { archivedAt: null },
      ],
    };
    let keyset: Prisma.ModelWhereInput = {};
    if (opts.after) {
      keyset = afterTimeId(opts.after);
    }
    const [rows, totalCount] = await Promise.all([
      this.db.model.findMany({
        where: { AND: [where, keyset] },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: opts.first + 1,
      }),
      this.db.model.count({ where }),
    ]);
    return toPage(rows, opts.first, totalCount, timeIdKey, toRecord);
  }
}
