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
