// Sharing: a group gives read-only access to one of its models, stimulus sets, synthesis batches or studies to
// another group of the hub, to the whole hub, or to a partner group of a consortium, optionally from a date on
// (embargo). What a share exposes, and when, is decided by the store's one visibility rule (src/store/visibility.ts);
// this service only checks and records the act.
import { AppError } from "../errors.js";
import type { ShareObjectKind, ShareRecord, ShareTargetKind } from "../store/shares.js";
import type { Page } from "../store/pagination.js";
import type { Store } from "../store/store.js";
import { requireRole, systemClock, type Caller, type Clock } from "./authorization.js";
import { readPageArgs } from "./inputs.js";
import { enqueueRecognitionForMetamers, enqueueRecognitionForModel } from "./recognition.js";

export const SHARE_OBJECT_KINDS: readonly ShareObjectKind[] = ["MODEL", "STIMULUS_SET", "SYNTHESIS_BATCH", "STUDY"];
export const SHARE_TARGET_KINDS: readonly ShareTargetKind[] = ["GROUP", "HUB", "PARTNER"];

export interface ShareTargetInput {
  kind: ShareTargetKind;
  /** GROUP: the target group's name on this hub */
  group?: string | null;
  /** PARTNER: the consortium's id and the group's name in it, as partner tokens state them */
  consortiumId?: string | null;
  partnerGroup?: string | null;
}

export interface ShareInput {
  kind: ShareObjectKind;
  id: string;
  target: ShareTargetInput;
  /** Visible to the target only from this instant on (null: at once). */
  embargoUntil?: Date | null;
}

export type ShareState = "ACTIVE" | "EMBARGOED" | "REVOKED";

export interface ShareView extends ShareRecord {
  targetGroupName: string | null;
  /** At the request's time: REVOKED, EMBARGOED (before embargoUntil) or ACTIVE. */
  state: ShareState;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Consortium ids and partner group names: what a partner token's claims carry. */
const PARTNER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

const KIND_WORDS: Record<ShareObjectKind, string> = {
  MODEL: "model",
  STIMULUS_SET: "stimulus set",
  SYNTHESIS_BATCH: "synthesis batch",
  STUDY: "study",
};

export class SharingService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * MEMBER: shares one of the group's objects, read-only. Sharing the same object with the same target again
   * changes the embargo of the existing share instead of adding one.
   */
  async share(caller: Caller, input: ShareInput): Promise<ShareView> {
    const ctx = requireRole(caller, "MEMBER");
    if (!SHARE_OBJECT_KINDS.includes(input.kind)) {
      throw new AppError("BAD_USER_INPUT", `kind: expected one of ${SHARE_OBJECT_KINDS.join(", ")}, got '${String(input.kind)}'`);
    }
    if (!UUID.test(input.id) || !(await this.store.shares.owns(ctx.groupId, input.kind, input.id))) {
      throw new AppError("NOT_FOUND", `id: no ${KIND_WORDS[input.kind]} '${input.id.slice(0, 80)}' in this group (only the owner group shares an object)`);
    }
    const embargoUntil = input.embargoUntil ?? null;
    if (embargoUntil && Number.isNaN(embargoUntil.getTime())) {
      throw new AppError("BAD_USER_INPUT", "embargoUntil: expected an ISO 8601 instant, got an invalid date");
    }
    const target = await this.target(ctx.groupId, input.target);
    const wanted = { ownerGroupId: ctx.groupId, objectKind: input.kind, objectId: input.id, ...target, embargoUntil };
    const record = await this.store.transaction(async (tx) => {
      const same = await tx.shares.findActiveSame(wanted);
      const saved = same ? await tx.shares.updateEmbargo(same.id, embargoUntil) : await tx.shares.create(wanted);
      // Visible now: the target's recognizers get the shared metamers (a shared model the target's metamers) in
      // RECOGNITION jobs at once. After an embargo nobody acts, so the target schedules them with recognizeBacklog.
      if (!embargoUntil || embargoUntil.getTime() <= this.clock().getTime()) {
        if (input.kind === "SYNTHESIS_BATCH") await enqueueRecognitionForMetamers(tx, await tx.shares.metamerIdsOfBatch(input.id));
        if (input.kind === "MODEL") await enqueueRecognitionForModel(tx, input.id);
      }
      return saved;
    });
    return this.view(record, input.target.kind === "GROUP" ? input.target.group ?? null : null);
  }

  /** MEMBER: revokes one of the group's shares; the object is hidden from the target again at once. */
  async revokeShare(caller: Caller, id: string): Promise<ShareView> {
    const ctx = requireRole(caller, "MEMBER");
    const revoked = UUID.test(id) ? await this.store.shares.revoke(ctx.groupId, id, this.clock()) : null;
    if (!revoked) throw new AppError("NOT_FOUND", `id: no active share '${id.slice(0, 80)}' of this group`);
    return (await this.views([revoked]))[0];
  }

  /** READER: the group's own shares (what it gave), newest first; revoked ones only when asked. */
  async shares(
    caller: Caller,
    args: { first?: number | null; after?: string | null; kind?: ShareObjectKind | null; id?: string | null; includeRevoked?: boolean | null },
  ): Promise<Page<ShareView>> {
    const ctx = requireRole(caller, "READER");
    if (args.id && !UUID.test(args.id)) throw new AppError("BAD_USER_INPUT", `id: expected an object id (a UUID), got '${args.id.slice(0, 80)}'`);
    const page = await this.store.shares.list(ctx.groupId, {
      ...readPageArgs(args),
      filter: { objectKind: args.kind ?? undefined, objectId: args.id ?? undefined, includeRevoked: !!args.includeRevoked },
    });
    return { ...page, items: await this.views(page.items) };
  }

  private async target(ownGroupId: string, t: ShareTargetInput) {
    const none = { targetGroupId: null, consortiumId: null, partnerGroup: null };
    switch (t.kind) {
      case "HUB":
        return { targetKind: "HUB" as const, ...none };
      case "GROUP": {
        if (!t.group) throw new AppError("BAD_USER_INPUT", "target.group: expected the name of a group of this hub for a GROUP share, got nothing");
        const group = await this.store.groups.findGroupByName(t.group);
        if (!group) throw new AppError("NOT_FOUND", `target.group: no group named '${t.group.slice(0, 80)}' on this hub`);
        if (group.id === ownGroupId) throw new AppError("BAD_USER_INPUT", `target.group: expected another group than the owner, got the owner '${t.group}'`);
        return { targetKind: "GROUP" as const, ...none, targetGroupId: group.id };
      }
      case "PARTNER": {
        for (const field of ["consortiumId", "partnerGroup"] as const) {
          const v = t[field];
          if (!v || !PARTNER_NAME.test(v)) {
            throw new AppError(
              "BAD_USER_INPUT",
              `target.${field}: expected 1 to 128 letters, digits or _ . : @ - (as the consortium's tokens state it) for a PARTNER share, got ${v ? JSON.stringify(v.slice(0, 80)) : "nothing"}`,
            );
          }
        }
        return { targetKind: "PARTNER" as const, ...none, consortiumId: t.consortiumId!, partnerGroup: t.partnerGroup! };
      }
      default:
        throw new AppError("BAD_USER_INPUT", `target.kind: expected one of ${SHARE_TARGET_KINDS.join(", ")}, got '${String(t.kind)}'`);
    }
  }

  private view(r: ShareRecord, targetGroupName: string | null): ShareView {
    const now = this.clock().getTime();
    const state: ShareState = r.revokedAt ? "REVOKED" : r.embargoUntil && r.embargoUntil.getTime() > now ? "EMBARGOED" : "ACTIVE";
    return { ...r, targetGroupName, state };
  }

  private async views(records: ShareRecord[]): Promise<ShareView[]> {
    const names = new Map<string, string>();
    for (const id of new Set(records.map((r) => r.targetGroupId).filter((id): id is string => !!id))) {
      const g = await this.store.groups.findGroup(id);
      if (g) names.set(id, g.name);
    }
    return records.map((r) => this.view(r, r.targetGroupId ? names.get(r.targetGroupId) ?? null : null));
  }
}
