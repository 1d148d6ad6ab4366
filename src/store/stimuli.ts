import type { DbOrTx } from "./db.js";
import type { Modality } from "../generated/prisma/enums.js";
import { AppError } from "../errors.js";
import { afterTimeId, decodeCursor, timeIdKey, toPage, type Page } from "./pagination.js";
import { asViewer, VisibilityStore, type Viewer } from "./visibility.js";

export interface StimulusSetRecord {
  id: string;
  groupId: string;
  name: string;
  modality: Modality;
  classLabels: string[];
  sampleRate: number | null;
  /** hidden from lists when set (archiveStimulusSet); still readable by id */
  archivedAt?: Date | null;
  createdAt: Date;
}

export interface StimulusTensorRecord {
  shapeKey: string;
  shape: number[];
  blobSha256: string;
}

export interface StimulusRecord {
  id: string;
  setId: string;
  groupId: string;
  label: string;
  filename: string;
  /** The file name as sent, when it had to be sanitized (services/filenames.ts); else null. */
  originalFilename: string | null;
  contentType: string;
  /** sha256 of the original file (its blob address) */
  sha256: string;
  position: number;
  /** how the file was fitted to model inputs (engine ImageResize as JSON), null for the default */
  resize?: unknown;
  createdAt: Date;
}

export interface NewStimulus {
  label: string;
  filename: string;
  originalFilename?: string | null;
  contentType: string;
  sha256: string;
  tensors: StimulusTensorRecord[];
  /** engine ImageResize (plain JSON), null for the default */
  resize?: { upscale: boolean; mode: string } | null;
}

/** dims joined by 'x': the key of a stimulus tensor made for one model input shape. */
export const shapeKey = (shape: readonly number[]): string => shape.join("x");

export class StimulusStore {
  constructor(private readonly db: DbOrTx) {}

  createSet(input: Omit<StimulusSetRecord, "id" | "createdAt">): Promise<StimulusSetRecord> {
    return this.db.stimulusSet.create({ data: input });
  }

  /** The group's own set, or null (for acts on it: adding stimuli). */
  findSet(groupId: string, id: string): Promise<StimulusSetRecord | null> {
    return this.db.stimulusSet.findFirst({ where: { id, groupId } });
  }

  /** A set the viewer may read (own or shared: src/store/visibility.ts), or null. */
  async findVisibleSet(viewer: Viewer, id: string): Promise<StimulusSetRecord | null> {
    return (await new VisibilityStore(this.db).isVisible(viewer, "STIMULUS_SET", id)) ? this.db.stimulusSet.findUnique({ where: { id } }) : null;
  }

  /** The group's set of that name, or null (a name is used once per group, issue 13). */
  findSetByName(groupId: string, name: string): Promise<StimulusSetRecord | null> {
    return this.db.stimulusSet.findFirst({ where: { groupId, name } });
  }

  /** Sets or clears archivedAt (null: unarchive). */
  async setArchived(id: string, at: Date | null): Promise<StimulusSetRecord> {
    return this.db.stimulusSet.update({ where: { id }, data: { archivedAt: at } });
  }

  /**
   * The sets the viewer may read (own and shared), newest first. `archived`: true lists only archived sets; otherwise
   * archived sets are hidden.
   */
  async listSets(viewer: Viewer | string, opts: { first: number; after?: string | null; archived?: boolean | null }): Promise<Page<StimulusSetRecord>> {
    const where = {
      AND: [await new VisibilityStore(this.db).where(asViewer(viewer), "STIMULUS_SET"), opts.archived ? { archivedAt: { not: null } } : { archivedAt: null }],
    };
    let keyset = {};
    if (opts.after) {
      keyset = afterTimeId(opts.after);
    }
    const [rows, totalCount] = await Promise.all([
      this.db.stimulusSet.findMany({
        where: { AND: [where, keyset] },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: opts.first + 1,
      }),
      this.db.stimulusSet.count({ where }),
    ]);
    return toPage(rows, opts.first, totalCount, timeIdKey, (r) => r);
  }

  /** sha256es already in the set (a set holds each file once). */
  async existingHashes(setId: string, hashes: string[]): Promise<Set<string>> {
    const rows = await this.db.stimulus.findMany({ where: { setId, sha256: { in: hashes } }, select: { sha256: true } });
    return new Set(rows.map((r) => r.sha256));
  }

  /** Appends stimuli (positions continue the set's sequence). Call inside `store.transaction`. */
  async addStimuli(set: StimulusSetRecord, items: NewStimulus[]): Promise<StimulusRecord[]> {
    const last = await this.db.stimulus.aggregate({ where: { setId: set.id }, _max: { position: true } });
    let position = (last._max.position ?? -1) + 1;
    const created: StimulusRecord[] = [];
    for (const item of items) {
      const row = await this.db.stimulus.create({
        data: {
          setId: set.id,
          groupId: set.groupId,
          label: item.label,
          filename: item.filename,
          originalFilename: item.originalFilename ?? null,
          contentType: item.contentType,
          sha256: item.sha256,
          position: position++,
          resize: item.resize ?? undefined,
          tensors: { createMany: { data: item.tensors } },
        },
      });
      created.push(row);
    }
    return created;
  }

  async addTensor(stimulusId: string, tensor: StimulusTensorRecord): Promise<void> {
    await this.db.stimulusTensor.upsert({
      where: { stimulusId_shapeKey: { stimulusId, shapeKey: tensor.shapeKey } },
      create: { stimulusId, ...tensor },
      update: {},
    });
  }

  /** A stimulus the viewer may read (of a visible set, or the natural stimulus of a shared batch), or null. */
  async findVisibleStimulus(viewer: Viewer, id: string): Promise<StimulusRecord | null> {
    return (await new VisibilityStore(this.db).isVisible(viewer, "STIMULUS", id)) ? this.db.stimulus.findUnique({ where: { id } }) : null;
  }

  /** A stimulus of the group, or null (for acts on the group's own data). */
  findStimulus(groupId: string, id: string): Promise<StimulusRecord | null> {
    return this.db.stimulus.findFirst({ where: { id, groupId } });
  }

  tensors(stimulusId: string): Promise<StimulusTensorRecord[]> {
    return this.db.stimulusTensor.findMany({
      where: { stimulusId },
      select: { shapeKey: true, shape: true, blobSha256: true },
      orderBy: { shapeKey: "asc" },
    });
  }

  tensor(stimulusId: string, key: string): Promise<StimulusTensorRecord | null> {
    return this.db.stimulusTensor.findUnique({
      where: { stimulusId_shapeKey: { stimulusId, shapeKey: key } },
      select: { shapeKey: true, shape: true, blobSha256: true },
    });
  }

  /** In set order; pagination by position. */
  async listStimuli(setId: string, opts: { first: number; after?: string | null; label?: string }): Promise<Page<StimulusRecord>> {
    const where = { setId, ...(opts.label ? { label: opts.label } : {}) };
    const afterPosition = opts.after ? Number(decodeCursor(opts.after)[0]) : -1;
    if (!Number.isInteger(afterPosition)) {
      throw new AppError("BAD_USER_INPUT", `after: expected a cursor from this list of stimuli, got '${opts.after!.slice(0, 40)}'`);
    }
    const [rows, totalCount] = await Promise.all([
      this.db.stimulus.findMany({
        where: { ...where, position: { gt: afterPosition } },
        orderBy: { position: "asc" },
        take: opts.first + 1,
      }),
      this.db.stimulus.count({ where }),
    ]);
    return toPage(rows, opts.first, totalCount, (r) => [r.position], (r) => r);
  }

  /** Every stimulus of a set in order (for jobs that walk a whole set). */
  allStimuli(setId: string): Promise<StimulusRecord[]> {
    return this.db.stimulus.findMany({ where: { setId }, orderBy: { position: "asc" } });
  }
}
