import { createHash } from "node:crypto";

/**
 * The configuration of a synthesis batch as one hash (issue 12 item 3): results of different configurations are
 * never pooled unless a caller asks, so every recognition aggregate is keyed by it (Metamer.configHash,
 * RecognitionTally). It covers what decides the metamers: the recipe and its schedule and step sizes (the whole stored
 * config, so fields added later, such as the null source, are covered without a change here), and the seed set.
 * Left out: `historyEvery`, which only decides how often the loss is recorded.
 */

/** Keys of the stored config that do not change a metamer. */
const COSMETIC_KEYS = new Set(["historyEvery"]);

/**
 * JSON with object keys sorted (by UTF-16 code units, recursively), no whitespace, and `undefined` members dropped,
 * so equal values always give equal text whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * sha256 (hex) of the canonical JSON of { config without cosmetic keys, seeds }. `seeds`: the batch's seed set
 * (`config.seeds` when the config lists several, else the batch seed), sorted and without repeats: the same seeds in
 * another order are the same configuration.
 */
export function configHash(config: Record<string, unknown>, seed: number): string {
  // `seeds` goes in once, normalised, below.
  const kept = Object.fromEntries(Object.entries(config).filter(([k]) => !COSMETIC_KEYS.has(k) && k !== "seeds"));
  const listed = Array.isArray(config.seeds) ? (config.seeds as unknown[]).filter((s): s is number => typeof s === "number") : [];
  const seeds = [...new Set(listed.length > 0 ? listed : [seed])].sort((a, b) => a - b);
  return createHash("sha256").update(canonicalJson({ config: kept, seeds })).digest("hex");
}
