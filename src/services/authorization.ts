// The caller's authorization: who is calling (group, role, key) and the role check every service operation starts with.
import { AppError } from "../errors.js";

export type Role = "READER" | "MEMBER" | "ADMIN";

/** Who is calling: resolved from `Authorization: Bearer <key>` once per request. */
export interface RequestContext {
  groupId: string;
  role: Role;
  apiKeyId: string;
}

/** A caller without a valid key; `reason` says why (no header, unknown key, revoked key). */
export interface AnonymousCaller {
  anonymous: true;
  reason: string;
}

export type Caller = RequestContext | AnonymousCaller;

export const anonymous = (reason: string): AnonymousCaller => ({ anonymous: true, reason });

export const isAuthenticated = (caller: Caller): caller is RequestContext => !("anonymous" in caller);

const rank: Record<Role, number> = { READER: 0, MEMBER: 1, ADMIN: 2 };

/**
 * The authenticated context if the caller holds at least `min`; otherwise UNAUTHENTICATED (no valid key) or
 * FORBIDDEN (valid key, lower role). READER reads, MEMBER also creates, ADMIN also manages keys.
 */
export function requireRole(caller: Caller, min: Role): RequestContext {
  if (!isAuthenticated(caller)) throw new AppError("UNAUTHENTICATED", caller.reason);
  if (rank[caller.role] < rank[min]) {
    throw new AppError("FORBIDDEN", `this operation needs the ${min} role or higher; the API key has role ${caller.role}`);
  }
  return caller;
}
