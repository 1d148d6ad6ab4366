import sharp from "sharp";
import wavefile from "wavefile";

/**
 * Saving a metamer the way observers and other models will see it (science.md §3): images as 8-bit PNG (values
 * rounded to the nearest level), audio as 32-bit float WAV. Each function also returns the tensor decoded back
 * from the saved file's values, which is what the label check must run on.
 */
export interface Rendering {
  bytes: Uint8Array;
  contentType: string;
  /** The saved values as a model input again (same layout as the tensor). */
  decoded: Float32Array;
}

/** [N=1, C, H, W] with C = 1 (grey) or 3 (RGB), values in `range`, to an 8-bit PNG. */
export async function renderImage(x: Float32Array, shape: readonly number[], range: readonly [number, number]): Promise<Rendering> {
  if (shape.length !== 4 || shape[0] !== 1 || (shape[1] !== 1 && shape[1] !== 3)) {
    throw new RangeError(`renderImage: expected shape [1, 1|3, H, W], got [${shape.join(", ")}]`);
  }
  const [, channels, height, width] = shape;
  if (x.length !== channels * height * width) {
    throw new RangeError(`renderImage: tensor has ${x.length} values, shape [${shape.join(", ")}] needs ${channels * height * width}`);
  }
  const [lo, hi] = range;
  const plane = height * width;
  const pixels = new Uint8Array(plane * channels);
  const decoded = new Float32Array(x.length);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) {
      const unit = (x[c * plane + p] - lo) / (hi - lo);
      const level = Math.round(Math.min(1, Math.max(0, unit)) * 255);
      pixels[p * channels + c] = level; // PNG is interleaved (HWC); the tensor is planar (CHW)
      decoded[c * plane + p] = lo + (level / 255) * (hi - lo);
    }
  }
  let image = sharp(pixels, { raw: { width, height, channels: channels as 1 | 3 } });
  // Without this sharp writes a grey tensor as a 3-channel sRGB PNG.
  if (channels === 1) image = image.toColourspace("b-w");
  const png = await image
    .png({ compressionLevel: 9 })
    .toBuffer();
  return { bytes: new Uint8Array(png), contentType: "image/png", decoded };
}

/** A waveform ([1, 1, T] or [1, T]) to a mono 32-bit float WAV; values are clamped to [-1, 1] and kept exactly. */
export function renderAudio(x: Float32Array, sampleRate: number): Rendering {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`renderAudio: sampleRate must be a positive integer, got ${sampleRate}`);
  const decoded = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) decoded[i] = Math.min(1, Math.max(-1, x[i]));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, "32f", Array.from(decoded));
  return { bytes: wav.toBuffer(), contentType: "audio/wav", decoded };
}

/** Decodes a rendering produced above back to float32 samples (used by tests and re-checks). */
export async function decodeRendering(bytes: Uint8Array, contentType: string, range: readonly [number, number]): Promise<Float32Array> {
  if (contentType === "audio/wav") {
    const wav = new wavefile.WaveFile(bytes);
    const samples = wav.getSamples(false, Float64Array) as unknown as Float64Array;
    return Float32Array.from(samples);
  }
  const { channels: fileChannels } = await sharp(bytes).metadata();
  let image = sharp(bytes);
  // sharp expands a grey PNG to 3 channels on raw output; keep the file's single channel.
  if (fileChannels === 1) image = image.extractChannel(0);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  const [lo, hi] = range;
  const plane = info.width * info.height;
  const out = new Float32Array(plane * info.channels);
  for (let c = 0; c < info.channels; c++) {
    for (let p = 0; p < plane; p++) out[c * plane + p] = lo + (data[p * info.channels + c] / 255) * (hi - lo);
  }
  return out;
}
