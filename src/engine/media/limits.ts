// What decoding one file may cost, and the target a file is converted to. Checked from headers, before any decoding.
import { EngineError } from "../errors.js";

/**
 * What one stimulus may cost (a 747 KB PNG held 6.6 GB, an 8 KB WAV claiming 1 Hz blocked the event
 * loop for 50.8 s). Checked from headers, before anything is decoded or resampled.
 */
export interface StimulusLimits {
  /** decoded pixels (width x height) of an image */
  maxPixels: number;
  /** elements of a tensor made from a file (C x H x W, or samples), and samples decoded from a WAV */
  maxElements: number;
  /** accepted sample rates (Hz) of WAV files and targets; they also bound the resampling ratio */
  minSampleRate: number;
  maxSampleRate: number;
}

export function checkSampleRate(rate: number, what: string, limits: StimulusLimits): void {
  if (!(rate >= limits.minSampleRate && rate <= limits.maxSampleRate)) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${what} is ${rate} Hz; expected ${limits.minSampleRate} to ${limits.maxSampleRate} Hz (METAMERS_MIN_SAMPLE_RATE, METAMERS_MAX_SAMPLE_RATE)`,
      { sampleRate: rate, min: limits.minSampleRate, max: limits.maxSampleRate },
    );
  }
}

/** INVALID_MEDIA when a tensor of `shape` would exceed the element limit. */
export function checkTensorSize(shape: readonly number[], where: string, limits: StimulusLimits): void {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n > limits.maxElements) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: the tensor would have shape [${shape.join(",")}] = ${n} values; at most ${limits.maxElements} are made from one file ` +
        `(METAMERS_MAX_STIMULUS_ELEMENTS)`,
      { limit: limits.maxElements, elements: n },
    );
  }
}

export interface TensorSpec {
  /** Model input shape, e.g. [1,3,64,64] (images) or [1,1,8000] (audio). */
  shape: number[];
  /** Value range of the model input: pixels in [0,1] are mapped linearly onto it; audio stays in [-1,1]. */
  inputRange: [number, number];
  /** Audio: the model's sample rate. */
  sampleRate?: number | null;
  /** Audio: scale the waveform to this RMS after removing the mean (null = keep the level). */
  rms?: number | null;
  /** Images: how the file is fitted to the shape (default: centre crop to the aspect, never enlarged). */
  resize?: ImageResize | null;
}

/**
 * Fitting an image to a model input. CENTER_CROP keeps the aspect (the largest centred region of the input's aspect,
 * then scaled); STRETCH scales the whole image to the input's width and height. `upscale` allows enlarging images
 * smaller than the input (refused by default: enlarging invents detail the metamer would be asked to match).
 */
export interface ImageResize {
  upscale?: boolean | null;
  mode?: "CENTER_CROP" | "STRETCH" | null;
}

