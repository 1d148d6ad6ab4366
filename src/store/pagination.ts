import { AppError } from "../errors.js";

/** A page of a keyset-paginated list, ready to be turned into a Relay connection. */
export interface Page<T> {
  items: T[];
  /** Opaque cursor of each item (same order as items). */
  cursors: string[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Cursors are opaque to clients: base64url of a small JSON array of the sort key. */
export const encodeCursor = (key: unknown[]): string => Buffer.from(JSON.stringify(key)).toString("base64url");

export function decodeCursor(cursor: string): unknown[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key)) return key;
  } catch {
    // fall through: reported as a bad cursor below
  }
  throw new AppError("BAD_USER_INPUT", `after: expected a cursor returned by this API, got '${cursor.slice(0, 40)}'`);
}

/**
 * The page of a keyset query that fetched `first + 1` rows (the extra row only says whether a next page exists):
 * the items, their cursors from `keyOf`, and the count of the whole list.
 */
export function toPage<R, T>(rows: R[], first: number, totalCount: number, keyOf: (row: R) => unknown[], toItem: (row: R) => T): Page<T> {
  const page = rows.slice(0, first);
  return { items: page.map(toItem), cursors: page.map((r) => encodeCursor(keyOf(r))), hasNextPage: rows.length > first, totalCount };
}

/** The key of lists ordered newest first (createdAt desc, id desc): see afterTimeId. */
export const timeIdKey = (r: { createdAt: Date; id: string }): unknown[] => [r.createdAt.toISOString(), r.id];

/** A (createdAt, id) keyset cursor, checked: newest-first lists page with it. */
export function decodeTimeIdCursor(cursor: string): { at: Date; id: string } {
  const [createdAt, id] = decodeCursor(cursor);
  const at = new Date(String(createdAt));
  if (typeof createdAt !== "string" || Number.isNaN(at.getTime()) || typeof id !== "string" || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError("BAD_USER_INPUT", `after: expected a cursor from this list, got '${cursor.slice(0, 40)}'`);
  }
  return { at, id };
}

/** Prisma condition "after the cursor" for lists ordered by createdAt desc, id desc. */
export const afterTimeId = (cursor: string) => {
  const { at, id } = decodeTimeIdCursor(cursor);
  return { OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: id } }] };
};
