import { AppError } from "../errors.js";

/** Longest file name stored, in UTF-8 bytes (most file systems' limit). */
export const MAX_STORED_FILENAME_BYTES = 255;
/** Longest file name accepted at all, in characters. */
export const MAX_FILENAME_CHARS = 1024;

// C0/C1 control characters and the bidirectional overrides that make a name display as something else.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A client's file name as it is stored and shown: no path (separators become '_', '.'/'..' alone are not names), no
 * control or bidi-override characters, at most 255 UTF-8 bytes (the extension kept). `original` is the name as
 * sent when it had to change (kept as metadata), else null. NUL is refused outright (BAD_USER_INPUT): PostgreSQL
 * text cannot hold it, so the original could not be kept.
 */
export function sanitizeFilename(name: string, argument: string): { filename: string; original: string | null } {
  if (name.includes("\u0000")) {
    throw new AppError("BAD_USER_INPUT", `${argument}: expected a file name without NUL characters, got ${JSON.stringify(name.slice(0, 80))}`);
  }
  if (name.length > MAX_FILENAME_CHARS) {
    throw new AppError("BAD_USER_INPUT", `${argument}: expected a file name of at most ${MAX_FILENAME_CHARS} characters, got ${name.length}`);
  }
  let clean = name.replace(UNSAFE, "").replace(/[/\\]/g, "_").trim();
  if (clean === "" || /^\.+$/.test(clean)) clean = `_${clean}`;
  clean = truncateUtf8(clean, MAX_STORED_FILENAME_BYTES);
  return { filename: clean, original: clean === name ? null : name };
}

/** Cuts the stem (never the extension, if short) so the name fits `max` UTF-8 bytes, on a character boundary. */
function truncateUtf8(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let stem = name.slice(0, name.length - ext.length);
  const budget = max - Buffer.byteLength(ext);
  const chars = [...stem];
  while (Buffer.byteLength(chars.join("")) > budget) chars.pop();
  stem = chars.join("");
  return stem + ext;
}
