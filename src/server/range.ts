// HTTP range requests (RFC 9110 §14) for GET /blobs/<sha256>: one byte range per request.

export type RangeRequest =
  /** no Range header, another unit, or several ranges: the whole body (200) */
  | { kind: "full" }
  /** bytes start..end, both inclusive and inside the body (206) */
  | { kind: "range"; start: number; end: number }
  /** a bytes range that cannot be served (416), with what was expected and what arrived */
  | { kind: "unsatisfiable"; message: string };

const ONE_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX = /^-(\d+)$/;

/**
 * Reads a `Range` header against a body of `size` bytes. Forms: `bytes=first-last`, `bytes=first-` and
 * `bytes=-suffixLength`; `last` past the end is cut to the end. Other units are ignored (RFC 9110 requires it), and so
 * is a list of several ranges: the whole body is sent, which the RFC allows and every client handles. A malformed or
 * unsatisfiable bytes range is refused (416) rather than silently answered with the whole body.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header?.trim()) return { kind: "full" };
  const eq = header.indexOf("=");
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "full" };
  const specs = header.slice(eq + 1).split(",");
  if (specs.length > 1) return { kind: "full" };
  const spec = specs[0].trim();
  const shown = JSON.stringify(header.slice(0, 100));
  const refuse = (why: string): RangeRequest => ({ kind: "unsatisfiable", message: `Range: ${why}, got ${shown}` });

  const suffix = SUFFIX.exec(spec);
  if (suffix) {
    const length = Number(suffix[1]);
    if (!Number.isSafeInteger(length) || length === 0 || size === 0) {
      return refuse(`expected bytes=-n with 0 < n for a body of ${size} bytes`);
    }
    return { kind: "range", start: Math.max(0, size - length), end: size - 1 };
  }
  const range = ONE_RANGE.exec(spec);
  if (!range) return refuse("expected bytes=first-last, bytes=first- or bytes=-suffixLength (decimal byte offsets)");
  const start = Number(range[1]);
  const last = range[2] === "" ? Infinity : Number(range[2]);
  if (!Number.isSafeInteger(start) || !(last === Infinity || Number.isSafeInteger(last)) || last < start) {
    return refuse("expected first <= last");
  }
  if (start >= size) return refuse(`the first byte must be below the body's ${size} bytes`);
  return { kind: "range", start, end: Math.min(last, size - 1) };
}
