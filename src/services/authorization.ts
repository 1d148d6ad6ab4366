// The caller's authorization: who is calling (a group's API key, or a partner identity from a consortium) and the
// checks every service operation starts with. What a caller may *read* is decided in one place, the store's
// visibility rule (src/store/visibility.ts); `requireReader` turns a caller into the viewer that rule takes.
import { AppError } from "../errors.js";
import type { Viewer } from "../store/visibility.js";

export type Role = "READER" | "MEMBER" | "ADMIN";

/** The hub's clock: embargoes and key expiry are judged at its `now` (tests inject one they move). */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** Who is calling with an API key of a group of this hub: resolved from `Authorization: Bearer <key>` once per request. */
export interface RequestContext {
  groupId: string;
  role: Role;
  apiKeyId: string;
  /** The hub operator's key (creates groups). Absent means false. */
  instanceAdmin?: boolean;
  /** The request's time on the hub's clock (set by authentication); absent: the system time when asked. */
  at?: Date;
}

/**
 * A person of a partner lab, vouched for by a consortium's signed token (the federation layer verifies it and builds
 * this). It sees exactly what groups of this hub shared with (consortiumId, partnerGroup), never private objects, and
 * can never change anything.
 */
export interface PartnerContext {
  partner: true;
  consortiumId: string;
  /** The group's name inside the consortium, as the token states it. */
  partnerGroup: string;
  role: "READER";
  /** The token's subject (the person), for logs. */
  subject: string;
  at?: Date;
}

/** Who a queued statistic belongs to (the statistics pool serves owners in turn): an API key, or a partner's person. */
export function statsOwner(caller: RequestContext | PartnerContext): string {
  return "partner" in caller ? `partner:${caller.consortiumId}/${caller.subject}` : `key:${caller.apiKeyId}`;
}

/** A caller without a valid key; `reason` says why (no header, unknown key, revoked or expired key). */
export interface AnonymousCaller {
  anonymous: true;
  reason: string;
}

export type Caller = RequestContext | PartnerContext | AnonymousCaller;

export const anonymous = (reason: string): AnonymousCaller => ({ anonymous: true, reason });

export const isAuthenticated = (caller: Caller): caller is RequestContext | PartnerContext => !("anonymous" in caller);

export const isPartner = (caller: Caller): caller is PartnerContext => "partner" in caller && caller.partner === true;

const rank: Record<Role, number> = { READER: 0, MEMBER: 1, ADMIN: 2 };

/**
 * The group context if the caller holds at least `min` in a group of this hub; otherwise UNAUTHENTICATED (no valid
 * key) or FORBIDDEN (lower role, or a partner identity: partners never act on a hub, they only read what was shared).
 * READER reads, MEMBER also creates and shares, ADMIN also manages keys.
 */
export function requireRole(caller: Caller, min: Role): RequestContext {
  if (!isAuthenticated(caller)) throw new AppError("UNAUTHENTICATED", caller.reason);
  if (isPartner(caller)) {
    throw new AppError(
      "FORBIDDEN",
      `this operation needs an API key of this hub with the ${min} role; partner identities (consortium '${caller.consortiumId}', group '${caller.partnerGroup}') may only read what was shared with them`,
    );
  }
  if (rank[caller.role] < rank[min]) {
    throw new AppError("FORBIDDEN", `this operation needs the ${min} role or higher; the API key has role ${caller.role}`);
  }
  return caller;
}

/** The hub operator (an instance-admin key); FORBIDDEN for every other caller. */
export function requireInstanceAdmin(caller: Caller): RequestContext {
  const ctx = requireRole(caller, "READER");
  if (!ctx.instanceAdmin) {
    throw new AppError("FORBIDDEN", "this operation needs an instance-admin key (the first key of the hub, or one made by it); this key is a group key");
  }
  return ctx;
}

/** Any authenticated caller: a group key of any role, or a partner identity (for services that only read). */
export function requireReaderContext(caller: Caller): RequestContext | PartnerContext {
  if (!isAuthenticated(caller)) throw new AppError("UNAUTHENTICATED", caller.reason);
  return caller;
}

/** Any authenticated caller (group key of any role, or partner) as the viewer the store's visibility rule takes. */
export function requireReader(caller: Caller): Viewer {
  if (!isAuthenticated(caller)) throw new AppError("UNAUTHENTICATED", caller.reason);
  return viewerOf(caller);
}

/** The viewer of an authenticated caller, judged at the request's time. */
export function viewerOf(caller: RequestContext | PartnerContext): Viewer {
  const now = caller.at ?? new Date();
  return isPartner(caller)
    ? { kind: "PARTNER", consortiumId: caller.consortiumId, partnerGroup: caller.partnerGroup, now }
    : { kind: "GROUP", groupId: caller.groupId, now };
}
