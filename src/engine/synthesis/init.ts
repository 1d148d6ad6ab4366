import { SeededRandom } from "../random.js";

export type InputModality = "IMAGE" | "AUDIO";

/**
 * The generator seed for one (stimulus, seed) pair. Every stage of the same stimulus and seed starts from the same
 * noise draw (docs/science.md §2: one draw per natural stimulus, reused for every stage), so the stage is deliberately
 * not part of the hash. FNV-1a over the text keeps it stable across processes and machines.
 */
export function noiseSeed(seed: number, stimulusId: string): number {
  let h = 0x811c9dc5;
  const text = `${Math.trunc(seed)}:${stimulusId}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The paper's initial noise: images N(mid, (0.05 * range)^2), audio N(0, (1e-7)^2), clipped to the input range.
 */
export function initialNoise(
  size: number,
  options: { modality: InputModality; range: readonly [number, number]; seed: number; stimulusId: string },
): Float32Array {
  const [lo, hi] = options.range;
  const rng = new SeededRandom(noiseSeed(options.seed, options.stimulusId));
  const x = new Float32Array(size);
  if (options.modality === "AUDIO") rng.fillNormal(x, 0, 1e-7);
  else rng.fillNormal(x, (lo + hi) / 2, 0.05 * (hi - lo));
  for (let i = 0; i < size; i++) x[i] = Math.min(hi, Math.max(lo, x[i]));
  return x;
}
