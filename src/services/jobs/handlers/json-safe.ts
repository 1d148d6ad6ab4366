/**
 * `value` as JSON can hold it: JSON has no Infinity/NaN, so such numbers are stored as strings ("Infinity"): the SNR of
 * two identical activations, for instance, whose comparison with a metamer's number still gives the right verdict.
 */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)));
}
