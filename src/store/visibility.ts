// The one visibility rule of the hub: which rows a caller may read. Every list, get and aggregate of models, layers,
// stimulus sets, stimuli, batches, metamers, studies, recognition results and blobs goes through `visibleSql` (or
// the helpers below built on it), so that sharing, embargoes and revocation mean the same thing everywhere.
import type { DbOrTx } from "./db.js";
import { Prisma } from "./db.js";

/**
 * Who reads, as the store sees it. A GROUP viewer is an API key of a group of this hub (instance admins included:
 * running the hub does not open other labs' data). A PARTNER viewer is a verified consortium identity: it owns
 * nothing here and sees only what was shared with its (consortiumId, partnerGroup). `now` is the instant embargoes
 * are judged at (the request's time, from the hub's clock).
 */
export type Viewer =
  | { kind: "GROUP"; groupId: string; now: Date }
  | { kind: "PARTNER"; consortiumId: string; partnerGroup: string; now: Date };

/**
 * For queries that pair rows of different groups (which recognizers may classify which metamers): the viewer is the
 * group named by an SQL column of each row, e.g. rowGroupViewer(`r."groupId"`, now).
 */
export interface RowGroupViewer {
  kind: "ROW_GROUP";
  groupId: Prisma.Sql;
  now: Date;
}

export const rowGroupViewer = (column: string, now: Date): RowGroupViewer => {
  if (!/^[a-z][a-z0-9_]{0,30}\."[A-Za-z]+"$/.test(column)) throw new Error(`rowGroupViewer: expected alias."column", got '${column}'`);
  return { kind: "ROW_GROUP", groupId: Prisma.raw(column), now };
};

type AnyViewer = Viewer | RowGroupViewer;

/** A bare group id is that group's viewer at the system time (for callers that hold no request context). */
export const asViewer = (v: Viewer | string): Viewer => (typeof v === "string" ? { kind: "GROUP", groupId: v, now: new Date() } : v);

/**
 * What can be asked about:
 * - MODEL: the model row and its layers. Own, shared as a MODEL, a reference model of a shared STUDY, or the
 *   generator of a shared SYNTHESIS_BATCH (visible as that batch's generator: its name and layers, not its file and
 *   not its other batches' metamers).
 * - MODEL_FILE: the model's ONNX file and its use as a recognizer: own, or shared as a MODEL.
 * - STIMULUS_SET: own or shared. STIMULUS: of a visible set, or the natural stimulus of a shared batch's job.
 * - SYNTHESIS_BATCH: own or shared. METAMER: own, or made by a job of a shared batch.
 * - STUDY: own or shared (its reference models and imported scores with it).
 */
export type VisibleKind = "MODEL" | "MODEL_FILE" | "STIMULUS_SET" | "STIMULUS" | "SYNTHESIS_BATCH" | "METAMER" | "STUDY";

/** The table each kind's rows live in (for the id helpers). */
const TABLE: Record<VisibleKind, string> = {
  MODEL: "Model",
  MODEL_FILE: "Model",
  STIMULUS_SET: "StimulusSet",
  STIMULUS: "Stimulus",
  SYNTHESIS_BATCH: "SynthesisBatch",
  METAMER: "Metamer",
  STUDY: "Study",
};

type ShareKind = "MODEL" | "STIMULUS_SET" | "SYNTHESIS_BATCH" | "STUDY";

const ALIAS = /^[a-z][a-z0-9_]{0,30}$/;

/** Ids of the objects of `kind` shared with the viewer right now: not revoked, embargo passed, target matching. */
function activeShares(viewer: AnyViewer, kind: ShareKind): Prisma.Sql {
  const target =
    viewer.kind !== "PARTNER"
      ? // HUB means every group of this hub; partner identities are not on the hub.
        Prisma.sql`(v_sh."targetKind" = 'HUB' OR (v_sh."targetKind" = 'GROUP' AND v_sh."targetGroupId" = ${groupSql(viewer)}))`
      : Prisma.sql`(v_sh."targetKind" = 'PARTNER' AND v_sh."consortiumId" = ${viewer.consortiumId} AND v_sh."partnerGroup" = ${viewer.partnerGroup})`;
  return Prisma.sql`SELECT v_sh."objectId" FROM "Share" v_sh
     WHERE v_sh."objectKind" = ${kind}::"ShareObjectKind" AND v_sh."revokedAt" IS NULL
       AND (v_sh."embargoUntil" IS NULL OR v_sh."embargoUntil" <= ${viewer.now}::timestamptz) AND ${target}`;
}

function groupSql(viewer: Viewer | RowGroupViewer): Prisma.Sql {
  if (viewer.kind === "ROW_GROUP") return viewer.groupId;
  if (viewer.kind === "GROUP") return Prisma.sql`${viewer.groupId}::uuid`;
  throw new Error("a partner viewer has no group on this hub");
}

/** The viewer's own rows (a partner owns nothing on this hub). */
function own(viewer: AnyViewer, t: Prisma.Sql): Prisma.Sql {
  return viewer.kind === "PARTNER" ? Prisma.sql`FALSE` : Prisma.sql`${t}."groupId" = ${groupSql(viewer)}`;
}

/**
 * THE rule: an SQL condition, true when the row `alias` (a row of the kind's table) is visible to the viewer.
 * Use it in raw queries as `WHERE ${visibleSql(viewer, "MODEL", "m")}`.
 */
export function visibleSql(viewer: AnyViewer, kind: VisibleKind, alias: string): Prisma.Sql {
  if (!ALIAS.test(alias)) throw new Error(`visibleSql: alias must be a plain lower-case SQL name, got '${alias}'`);
  const t = Prisma.raw(alias);
  const batches = activeShares(viewer, "SYNTHESIS_BATCH");
  switch (kind) {
    case "MODEL_FILE":
      return Prisma.sql`(${own(viewer, t)} OR ${t}.id IN (${activeShares(viewer, "MODEL")}))`;
    case "MODEL":
      return Prisma.sql`(${own(viewer, t)} OR ${t}.id IN (${activeShares(viewer, "MODEL")})
        OR ${t}."studyId" IN (${activeShares(viewer, "STUDY")})
        OR ${t}.id IN (SELECT v_b."modelId" FROM "SynthesisBatch" v_b WHERE v_b.id IN (${batches})))`;
    case "STIMULUS_SET":
      return Prisma.sql`(${own(viewer, t)} OR ${t}.id IN (${activeShares(viewer, "STIMULUS_SET")}))`;
    case "STIMULUS":
      return Prisma.sql`(${own(viewer, t)} OR ${t}."setId" IN (${activeShares(viewer, "STIMULUS_SET")})
        OR ${t}.id IN (SELECT v_j."stimulusId" FROM "Job" v_j WHERE v_j."batchId" IN (${batches})))`;
    case "SYNTHESIS_BATCH":
      return Prisma.sql`(${own(viewer, t)} OR ${t}.id IN (${batches}))`;
    case "METAMER":
      return Prisma.sql`(${own(viewer, t)} OR ${t}."jobId" IN (SELECT v_j.id FROM "Job" v_j WHERE v_j."batchId" IN (${batches})))`;
    case "STUDY":
      return Prisma.sql`(${own(viewer, t)} OR ${t}.id IN (${activeShares(viewer, "STUDY")}))`;
  }
}

/** `expr` (an SQL expression giving an id) names a row of `kind` visible to the viewer. */
export function idVisibleSql(viewer: AnyViewer, kind: VisibleKind, expr: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`${expr} IN (SELECT v_t.id FROM ${Prisma.raw(`"${TABLE[kind]}"`)} v_t WHERE ${visibleSql(viewer, kind, "v_t")})`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Queries built on the rule, for store modules that use Prisma's query API rather than raw SQL. */
export class VisibilityStore {
  constructor(private readonly db: DbOrTx) {}

  /** Which of `ids` name rows of `kind` visible to the viewer (malformed ids are simply not visible). */
  async visibleIds(viewer: Viewer, kind: VisibleKind, ids: readonly string[]): Promise<Set<string>> {
    const valid = [...new Set(ids.filter((id) => UUID.test(id)))];
    if (valid.length === 0) return new Set();
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT t.id::text AS id FROM ${Prisma.raw(`"${TABLE[kind]}"`)} t
       WHERE t.id = ANY(${valid}::uuid[]) AND ${visibleSql(viewer, kind, "t")}`;
    return new Set(rows.map((r) => r.id));
  }

  async isVisible(viewer: Viewer, kind: VisibleKind, id: string): Promise<boolean> {
    // ids come back in PostgreSQL's lower-case form; a UUID in upper case names the same row
    return (await this.visibleIds(viewer, kind, [id])).has(id.toLowerCase());
  }

  /**
   * The same rule as a Prisma `where` on a table with `groupId` and `id`: the viewer's own rows, or the ids visible
   * through shares (found by `visibleSql`; as many as there are shares with the viewer, not as many as rows).
   */
  async where(viewer: Viewer, kind: Exclude<VisibleKind, "MODEL_FILE">): Promise<{ OR: ({ groupId: string } | { id: { in: string[] } })[] }> {
    const rows = await this.db.$queryRaw<{ id: string }[]>`
      SELECT t.id::text AS id FROM ${Prisma.raw(`"${TABLE[kind]}"`)} t
       WHERE ${visibleSql(viewer, kind, "t")} AND NOT ${own(viewer, Prisma.raw("t"))}`;
    const shared = { id: { in: rows.map((r) => r.id) } };
    return { OR: viewer.kind === "GROUP" ? [{ groupId: viewer.groupId }, shared] : [shared] };
  }

  /**
   * Whether the viewer may download a blob: its group was granted it (what the group stored itself), or it is the
   * file of a visible object shared with it (a shared model's ONNX, a shared metamer's tensor or rendering, a shared
   * stimulus' file or tensors).
   */
  async canReadBlob(viewer: Viewer, sha256: string): Promise<boolean> {
    if (viewer.kind === "GROUP" && (await this.db.blobGrant.count({ where: { groupId: viewer.groupId, sha256 } })) > 0) return true;
    const [row] = await this.db.$queryRaw<{ ok: boolean }[]>`
      SELECT (EXISTS (SELECT 1 FROM "Model" m WHERE m.sha256 = ${sha256} AND ${visibleSql(viewer, "MODEL_FILE", "m")})
        OR EXISTS (SELECT 1 FROM "Metamer" x WHERE (x."tensorSha256" = ${sha256} OR x."renderingSha256" = ${sha256})
                     AND ${visibleSql(viewer, "METAMER", "x")})
        OR EXISTS (SELECT 1 FROM "Stimulus" s WHERE s.sha256 = ${sha256} AND ${visibleSql(viewer, "STIMULUS", "s")})
        OR EXISTS (SELECT 1 FROM "StimulusTensor" st JOIN "Stimulus" s ON s.id = st."stimulusId"
                    WHERE st."blobSha256" = ${sha256} AND ${visibleSql(viewer, "STIMULUS", "s")})) AS ok`;
    return row.ok;
  }
}
