// Images: decoding and resizing a stimulus file into a model input (sharp), and encoding a tensor as the 8-bit PNG
// observers and other models see.
import sharp, { type Metadata, type OutputInfo } from "sharp";
import { EngineError } from "../errors.js";
import { checkTensorSize, type StimulusLimits, type TensorSpec } from "./limits.js";
import type { Rendering } from "./rendering.js";

/**
 * Image -> float32 NCHW for `spec.shape` ([1,C,H,W] or [C,H,W], C in 1/3/4): by default centre crop to the aspect and
 * downscale; `spec.resize` may stretch instead of cropping and allow enlarging (src/engine/media/limits.ts).
 */
export async function imageToTensor(bytes: Uint8Array, spec: TensorSpec, where: string, limits: StimulusLimits): Promise<Float32Array> {
  const dims = spec.shape;
  const [c, h, w] = dims.length === 4 && dims[0] === 1 ? dims.slice(1) : dims.length === 3 ? dims : [NaN, NaN, NaN];
  if (![1, 3, 4].includes(c) || !(h > 0) || !(w > 0)) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: an image can be converted to an input of shape [1,C,H,W] with C = 1, 3 or 4 and fixed H, W; ` +
        `the target shape is [${dims.join(",")}]`,
    );
  }
  checkTensorSize(dims, where, limits);
  const meta = await imageMetadata(bytes, where, limits);
  const iw = meta.width ?? 0;
  const ih = meta.height ?? 0;
  const mode = spec.resize?.mode ?? "CENTER_CROP";
  // Upscaling would invent detail the metamer would then be asked to match; refuse it unless asked for. (For both modes
  // an axis is enlarged exactly when the image is smaller than the input along it; cover scales by the larger ratio.)
  if ((iw < w || ih < h) && !spec.resize?.upscale) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: the image is ${iw}x${ih} pixels; the model input needs at least ${w}x${h} (images are cropped and ` +
        "downscaled, never enlarged, unless you pass resize: { upscale: true })",
      { imageWidth: iw, imageHeight: ih, inputWidth: w, inputHeight: h },
    );
  }
  const fit = mode === "STRETCH" ? "fill" : "cover";
  // libvips decodes in sharp's own threads, off the event loop; limitInputPixels repeats the header check there.
  let pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels }).rotate().resize(w, h, { fit, position: "centre", kernel: "lanczos3" });
  pipeline = c === 1 ? pipeline.greyscale() : c === 3 ? pipeline.removeAlpha().toColourspace("srgb") : pipeline.ensureAlpha();
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new EngineError("INVALID_MEDIA", `${where}: the image could not be converted (${(e as Error).message})`);
  }
  const { data, info } = raw;
  if (info.channels !== c) {
    throw new EngineError("INVALID_MEDIA", `${where}: converting to ${c} channels gave ${info.channels}`);
  }
  const [lo, hi] = spec.inputRange;
  const out = new Float32Array(c * h * w);
  // interleaved HWC bytes -> planar CHW floats in the model's range
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        out[k * h * w + y * w + x] = lo + ((hi - lo) * data[(y * w + x) * c + k]) / 255;
      }
    }
  }
  return out;
}

/**
 * The image's header (sharp reads it without decoding pixels); INVALID_MEDIA when it cannot be read or declares
 * more than `limits.maxPixels` pixels.
 */
export async function imageMetadata(bytes: Uint8Array, where: string, limits: StimulusLimits): Promise<Metadata> {
  let meta: Metadata;
  try {
    // metadata() reads the header only; sharp's own pixel limit is lifted here so that the check below, with its
    // clearer message, is the one that speaks.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new EngineError("INVALID_MEDIA", `${where}: the image could not be decoded (${(e as Error).message})`);
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > limits.maxPixels) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: the image is ${meta.width}x${meta.height} = ${pixels} pixels; at most ${limits.maxPixels} pixels are decoded ` +
        `(METAMERS_MAX_STIMULUS_PIXELS)`,
      { limit: limits.maxPixels, pixels },
    );
  }
  return meta;
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

