import { AppError } from "../errors.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes standard base64 (whitespace ignored) after checking the decoded size: over `limits.file` the file is too
 * large at all; over `limits.inline` it must be sent with createUpload instead.
 */
export function decodeBase64(text: string, where: string, limits: { file: number; inline: number }): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  const size = Math.floor((compact.length * 3) / 4) - (compact.endsWith("==") ? 2 : compact.endsWith("=") ? 1 : 0);
  if (size > limits.file) {
    throw new AppError("PAYLOAD_TOO_LARGE", `${where}: the file may be at most ${limits.file} bytes, got ${size}`, { limit: limits.file });
  }
  if (size > limits.inline) {
    throw new AppError(
      "PAYLOAD_TOO_LARGE",
      `${where}: at most ${limits.inline} bytes may be sent inline, got ${size}; send larger files with createUpload`,
      { limit: limits.inline },
    );
  }
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new AppError("BAD_USER_INPUT", `${where}: expected base64 text, got characters outside the base64 alphabet`);
  }
  return new Uint8Array(Buffer.from(compact, "base64"));
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

/** first/after as the store wants them; `first` must be 1..500 (default 50). */
export function readPageArgs(args: { first?: number | null; after?: string | null }): { first: number; after: string | null } {
  const first = args.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new AppError("BAD_USER_INPUT", `first: expected 1 to ${MAX_PAGE}, got ${first}`);
  }
  return { first, after: args.after ?? null };
}
