// A metamer as saved (renderImage in image.ts, renderAudio in audio.ts), and its saved values read back.
import sharp from "sharp";
import wavefile from "wavefile";

/**
 * Saving a metamer the way observers and other models will see it (docs/science.md §3): images as 8-bit PNG (values
 * rounded to the nearest level), audio as 32-bit float WAV. Each function also returns the tensor decoded back
 * from the saved file's values, which is what the label check must run on.
 */
export interface Rendering {
  bytes: Uint8Array;
  contentType: string;
  /** The saved values as a model input again (same layout as the tensor). */
  decoded: Float32Array;
}

/** Decodes a rendering (renderImage, renderAudio) back to float32 samples (used by tests and re-checks). */
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
