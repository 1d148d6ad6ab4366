import { EngineError } from "../errors.js";
import type { SeededRandom } from "../random.js";

/**
 * Augmentations of reference stimuli for a reference null (docs/science.md §3: the paper's null uses pairs of
 * augmented training examples). Applied to the model-input tensor, so the same code serves every model; seeded by the
 * caller's SeededRandom, so a (spec, seed) pair always gives the same views.
 */
export interface AugmentationSpec {
  /** Images: random resized crop whose area is a fraction drawn from [cropMinScale, 1] (aspect ratio in [3/4, 4/3]); null: none. */
  cropMinScale: number | null;
  /** Images: mirror left-right with probability 1/2. */
  flip: boolean;
  /** Images: brightness and contrast factors drawn from [1 - jitter, 1 + jitter]; 0: none. */
  jitter: number;
  /** Audio: white noise added at an SNR (dB, against the sound's RMS) drawn from [min, max]; null: none. */
  noiseSnrDb: { min: number; max: number } | null;
}

/** What a caller sends: every field optional; null or absent means that augmentation is off. */
export type AugmentationInput = { [K in keyof AugmentationSpec]?: AugmentationSpec[K] | null };

const IMAGE_FIELDS = ["cropMinScale", "flip", "jitter"] as const;

/**
 * The augmentation as the engine applies it, or null for none (no field set, or every field at its "none" value).
 * Checks ranges and that the options fit the modality; INVALID_ARGUMENT names every problem.
 */
export function resolveAugmentation(input: AugmentationInput | null | undefined, modality: "IMAGE" | "AUDIO"): AugmentationSpec | null {
  if (!input) return null;
  const spec: AugmentationSpec = {
    cropMinScale: input.cropMinScale ?? null,
    flip: input.flip ?? false,
    jitter: input.jitter ?? 0,
    noiseSnrDb: input.noiseSnrDb ?? null,
  };
  const problems: string[] = [];
  if (spec.cropMinScale !== null && !(spec.cropMinScale > 0 && spec.cropMinScale <= 1)) {
    problems.push(`cropMinScale: expected a number in (0, 1], got ${spec.cropMinScale}`);
  }
  if (!(spec.jitter >= 0 && spec.jitter <= 0.5)) problems.push(`jitter: expected a number from 0 to 0.5, got ${spec.jitter}`);
  if (spec.noiseSnrDb !== null) {
    const { min, max } = spec.noiseSnrDb;
    if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max && min >= -20 && max <= 120)) {
      problems.push(`noiseSnrDb: expected min <= max within [-20, 120] dB, got [${min}, ${max}]`);
    }
  }
  if (modality === "AUDIO") {
    const used = IMAGE_FIELDS.filter((f) => (f === "cropMinScale" ? spec.cropMinScale !== null : f === "flip" ? spec.flip : spec.jitter !== 0));
    if (used.length > 0) problems.push(`${used.join(", ")}: image augmentations, but the model takes AUDIO (use noiseSnrDb)`);
  } else if (spec.noiseSnrDb !== null) {
    problems.push("noiseSnrDb: an audio augmentation, but the model takes IMAGE (use cropMinScale, flip, jitter)");
  }
  if (problems.length > 0) throw new EngineError("INVALID_ARGUMENT", `augmentation: ${problems.join("; ")}`, { problems });
  const none = spec.cropMinScale === null && !spec.flip && spec.jitter === 0 && spec.noiseSnrDb === null;
  return none ? null : spec;
}

/**
 * One augmented view of `x` (a model-input tensor of `shape`; images: the last two dimensions are height and width,
 * the others channels). Values stay within `range`. Draws from `rng` in a fixed order: crop, flip, jitter, noise.
 */
export function augment(x: Float32Array, shape: readonly number[], range: readonly [number, number], spec: AugmentationSpec, rng: SeededRandom): Float32Array {
  const [lo, hi] = range;
  let out: Float32Array = x.slice();
  if (spec.noiseSnrDb) {
    let ss = 0;
    for (let i = 0; i < out.length; i++) ss += out[i] * out[i];
    const rms = Math.sqrt(ss / out.length);
    const snrDb = spec.noiseSnrDb.min + rng.next() * (spec.noiseSnrDb.max - spec.noiseSnrDb.min);
    const std = rms / 10 ** (snrDb / 20);
    for (let i = 0; i < out.length; i++) out[i] = clamp(out[i] + std * rng.normal(), lo, hi);
    return out;
  }
  const H = shape.length >= 2 ? shape[shape.length - 2] : 1;
  const W = shape[shape.length - 1] ?? x.length;
  const C = x.length / (H * W);
  if (spec.cropMinScale !== null) out = randomResizedCrop(out, C, H, W, spec.cropMinScale, rng);
  if (spec.flip && rng.next() < 0.5) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) out.subarray((c * H + y) * W, (c * H + y + 1) * W).reverse();
    }
  }
  if (spec.jitter > 0) {
    const brightness = 1 - spec.jitter + rng.next() * 2 * spec.jitter;
    const contrast = 1 - spec.jitter + rng.next() * 2 * spec.jitter;
    let mean = 0;
    for (let i = 0; i < out.length; i++) {
      out[i] = lo + (out[i] - lo) * brightness;
      mean += out[i];
    }
    mean /= out.length;
    for (let i = 0; i < out.length; i++) out[i] = clamp(mean + (out[i] - mean) * contrast, lo, hi);
  }
  return out;
}

/** torchvision's RandomResizedCrop (scale [minScale, 1], ratio [3/4, 4/3]) with bilinear resampling back to H x W. */
function randomResizedCrop(x: Float32Array, C: number, H: number, W: number, minScale: number, rng: SeededRandom): Float32Array {
  const area = minScale + rng.next() * (1 - minScale);
  const logRatio = Math.log(3 / 4) + rng.next() * (Math.log(4 / 3) - Math.log(3 / 4));
  const ratio = Math.exp(logRatio);
  const w = Math.min(W, Math.max(1, Math.round(Math.sqrt(area * ratio) * W)));
  const h = Math.min(H, Math.max(1, Math.round(Math.sqrt(area / ratio) * H)));
  const top = rng.nextInt(H - h + 1);
  const left = rng.nextInt(W - w + 1);
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    const plane = c * H * W;
    for (let y = 0; y < H; y++) {
      // Pixel centres mapped as align_corners = false.
      const sy = Math.min(h - 1, Math.max(0, (y + 0.5) * (h / H) - 0.5));
      const y0 = Math.floor(sy);
      const y1 = Math.min(h - 1, y0 + 1);
      const fy = sy - y0;
      for (let xx = 0; xx < W; xx++) {
        const sx = Math.min(w - 1, Math.max(0, (xx + 0.5) * (w / W) - 0.5));
        const x0 = Math.floor(sx);
        const x1 = Math.min(w - 1, x0 + 1);
        const fx = sx - x0;
        const at = (yy: number, xc: number) => x[plane + (top + yy) * W + left + xc];
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        out[plane + y * W + xx] = v;
      }
    }
  }
  return out;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
