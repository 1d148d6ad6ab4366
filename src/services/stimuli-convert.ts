// Turning stimulus files into model inputs: detection of the file type, image decoding/resizing (sharp) and WAV
// decoding/resampling (wavefile + a windowed-sinc resampler). The results are float32 tensors in NCHW / N(C)T order.
import sharp, { type Metadata, type OutputInfo } from "sharp";
import wavefile from "wavefile";
import { AppError } from "../errors.js";

export type StimulusKind = "png" | "jpeg" | "wav";

const CONTENT_TYPES: Record<StimulusKind, string> = { png: "image/png", jpeg: "image/jpeg", wav: "audio/wav" };

/** Identifies a file by its first bytes (never by its name); null for anything else. */
export function sniffKind(bytes: Uint8Array): StimulusKind | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 12));
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WAVE") return "wav";
  return null;
}

export const contentTypeOf = (kind: StimulusKind): string => CONTENT_TYPES[kind];

const describe = (kind: StimulusKind | null): string =>
  kind === "png" ? "a PNG image" : kind === "jpeg" ? "a JPEG image" : kind === "wav" ? "a WAV file" : "an unrecognised file";

/** Checks that the file suits the set's modality; returns its kind. */
export function checkStimulusFile(bytes: Uint8Array, modality: "IMAGE" | "AUDIO", where: string): StimulusKind {
  if (bytes.byteLength === 0) throw new AppError("INVALID_STIMULUS", `${where}: the file is empty (0 bytes)`);
  const kind = sniffKind(bytes);
  const wanted = modality === "IMAGE" ? "a PNG or JPEG image" : "a WAV file (RIFF/WAVE)";
  const ok = modality === "IMAGE" ? kind === "png" || kind === "jpeg" : kind === "wav";
  if (!ok) throw new AppError("INVALID_STIMULUS", `${where}: expected ${wanted} for an ${modality} set, got ${describe(kind)}`);
  return kind!;
}

/**
 * What one stimulus may cost (issue 10 item 7: a 747 KB PNG held 6.6 GB, an 8 KB WAV claiming 1 Hz blocked the event
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

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** samples per channel, from the data chunk's size */
  frames: number;
}

/**
 * The format and length of a WAV file from its RIFF chunks, without decoding samples. INVALID_STIMULUS for a broken
 * header and for a rate or a length outside `limits`.
 */
export function readWavInfo(bytes: Uint8Array, where: string, limits: StimulusLimits): WavInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  let fmt: Omit<WavInfo, "frames"> | null = null;
  let dataBytes: number | null = null;
  for (let at = 12; at + 8 <= bytes.byteLength; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    if (id === "fmt " && at + 24 <= bytes.byteLength) {
      fmt = { channels: view.getUint16(at + 10, true), sampleRate: view.getUint32(at + 12, true), bitsPerSample: view.getUint16(at + 22, true) };
    } else if (id === "data") {
      dataBytes = Math.min(size, bytes.byteLength - at - 8);
      break;
    }
    at += 8 + size + (size % 2);
  }
  if (!fmt || dataBytes === null || !(fmt.channels > 0) || !(fmt.bitsPerSample > 0)) {
    throw new AppError("INVALID_STIMULUS", `${where}: the WAV file could not be decoded (expected a 'fmt ' chunk followed by a 'data' chunk)`);
  }
  checkSampleRate(fmt.sampleRate, `${where}: the WAV header's sample rate`, limits);
  const frames = Math.floor(dataBytes / (fmt.channels * Math.ceil(fmt.bitsPerSample / 8)));
  if (frames * fmt.channels > limits.maxElements) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: the WAV file holds ${frames} samples x ${fmt.channels} channels; at most ${limits.maxElements} samples are decoded ` +
        `(METAMERS_MAX_STIMULUS_ELEMENTS)`,
      { limit: limits.maxElements, samples: frames * fmt.channels },
    );
  }
  return { ...fmt, frames };
}

export function checkSampleRate(rate: number, what: string, limits: StimulusLimits): void {
  if (!(rate >= limits.minSampleRate && rate <= limits.maxSampleRate)) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${what} is ${rate} Hz; expected ${limits.minSampleRate} to ${limits.maxSampleRate} Hz (METAMERS_MIN_SAMPLE_RATE, METAMERS_MAX_SAMPLE_RATE)`,
      { sampleRate: rate, min: limits.minSampleRate, max: limits.maxSampleRate },
    );
  }
}

/** INVALID_STIMULUS when a tensor of `shape` would exceed the element limit. */
export function checkTensorSize(shape: readonly number[], where: string, limits: StimulusLimits): void {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n > limits.maxElements) {
    throw new AppError(
      "INVALID_STIMULUS",
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
}

/** Image -> float32 NCHW for `spec.shape` ([1,C,H,W] or [C,H,W], C in 1/3/4): centre crop to the aspect, downscale. */
export async function imageToTensor(bytes: Uint8Array, spec: TensorSpec, where: string, limits: StimulusLimits): Promise<Float32Array> {
  const dims = spec.shape;
  const [c, h, w] = dims.length === 4 && dims[0] === 1 ? dims.slice(1) : dims.length === 3 ? dims : [NaN, NaN, NaN];
  if (![1, 3, 4].includes(c) || !(h > 0) || !(w > 0)) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: an image can be converted to an input of shape [1,C,H,W] with C = 1, 3 or 4 and fixed H, W; ` +
        `the target shape is [${dims.join(",")}]`,
    );
  }
  checkTensorSize(dims, where, limits);
  const meta = await imageMetadata(bytes, where, limits);
  const iw = meta.width ?? 0;
  const ih = meta.height ?? 0;
  // Upscaling would invent detail the metamer would then be asked to match; refuse it rather than hide it.
  if (iw < w || ih < h) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: the image is ${iw}x${ih} pixels; the model input needs at least ${w}x${h} (images are cropped and ` +
        "downscaled, never enlarged)",
      { imageWidth: iw, imageHeight: ih, inputWidth: w, inputHeight: h },
    );
  }
  // libvips decodes in sharp's own threads, off the event loop; limitInputPixels repeats the header check there.
  let pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels }).rotate().resize(w, h, { fit: "cover", position: "centre", kernel: "lanczos3" });
  pipeline = c === 1 ? pipeline.greyscale() : c === 3 ? pipeline.removeAlpha().toColourspace("srgb") : pipeline.ensureAlpha();
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new AppError("INVALID_STIMULUS", `${where}: the image could not be converted (${(e as Error).message})`);
  }
  const { data, info } = raw;
  if (info.channels !== c) {
    throw new AppError("INVALID_STIMULUS", `${where}: converting to ${c} channels gave ${info.channels}`);
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
 * The image's header (sharp reads it without decoding pixels); INVALID_STIMULUS when it cannot be read or declares
 * more than `limits.maxPixels` pixels.
 */
export async function imageMetadata(bytes: Uint8Array, where: string, limits: StimulusLimits): Promise<Metadata> {
  let meta: Metadata;
  try {
    // metadata() reads the header only; sharp's own pixel limit is lifted here so that the check below, with its
    // clearer message, is the one that speaks.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new AppError("INVALID_STIMULUS", `${where}: the image could not be decoded (${(e as Error).message})`);
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > limits.maxPixels) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: the image is ${meta.width}x${meta.height} = ${pixels} pixels; at most ${limits.maxPixels} pixels are decoded ` +
        `(METAMERS_MAX_STIMULUS_PIXELS)`,
      { limit: limits.maxPixels, pixels },
    );
  }
  return meta;
}

export interface DecodedAudio {
  sampleRate: number;
  /** mono samples in [-1, 1] */
  samples: Float64Array;
}

export function decodeWav(bytes: Uint8Array, where: string, limits: StimulusLimits): DecodedAudio {
  readWavInfo(bytes, where, limits); // rate and length from the header before any sample is decoded
  try {
    const wav = new wavefile.WaveFile(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    // read the format first: toBitDepth rebuilds the fmt chunk object
    const { sampleRate, numChannels } = wav.fmt as { sampleRate: number; numChannels: number };
    const fmt = { sampleRate, numChannels };
    wav.toBitDepth("32f");
    const raw = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
    const channels = fmt.numChannels > 1 ? (raw as Float64Array[]) : [raw as Float64Array];
    const n = channels[0].length;
    const samples = new Float64Array(n);
    for (const ch of channels) for (let i = 0; i < n; i++) samples[i] += ch[i] / channels.length;
    if (!(fmt.sampleRate > 0) || n === 0) throw new Error(`sample rate ${fmt.sampleRate}, ${n} samples`);
    return { sampleRate: fmt.sampleRate, samples };
  } catch (e) {
    throw new AppError("INVALID_STIMULUS", `${where}: the WAV file could not be decoded (${(e as Error).message})`);
  }
}

/**
 * Band-limited resampling by a Hann-windowed sinc (cut-off at the lower Nyquist frequency, 16 zero crossings each
 * side), evaluated directly at every output instant. Exact for a constant rate; O(n * 32 * ratio).
 */
export function resample(x: Float64Array, from: number, to: number): Float64Array {
  if (from === to) return Float64Array.from(x);
  const n = Math.floor((x.length * to) / from);
  const out = new Float64Array(n);
  const cutoff = Math.min(1, to / from); // relative to the input Nyquist
  const zeros = 16;
  const half = zeros / cutoff; // kernel half-width in input samples
  for (let j = 0; j < n; j++) {
    const t = (j * from) / to; // position in input samples
    const i0 = Math.max(0, Math.ceil(t - half));
    const i1 = Math.min(x.length - 1, Math.floor(t + half));
    let acc = 0;
    for (let i = i0; i <= i1; i++) {
      const d = t - i;
      const arg = Math.PI * cutoff * d;
      const sinc = d === 0 ? 1 : Math.sin(arg) / arg;
      const window = 0.5 + 0.5 * Math.cos((Math.PI * d) / half);
      acc += x[i] * cutoff * sinc * window;
    }
    out[j] = acc;
  }
  return out;
}

/** WAV -> float32 for `spec.shape` ([N], [1,N] or [1,1,N]): mono, resampled, mean removed, optionally RMS-scaled. */
export function audioToTensor(bytes: Uint8Array, spec: TensorSpec, where: string, limits: StimulusLimits): Float32Array {
  const dims = spec.shape;
  const length = dims.at(-1)!;
  if (!(length > 0) || dims.slice(0, -1).some((d) => d !== 1)) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: audio can be converted to an input of shape [N], [1,N] or [1,1,N] with fixed N; the target shape is [${dims.join(",")}]`,
    );
  }
  const rate = spec.sampleRate;
  if (!rate || !(rate > 0)) {
    throw new AppError("BAD_USER_INPUT", `${where}: converting audio needs the model's sample rate; none is declared`);
  }
  checkTensorSize(dims, where, limits);
  checkSampleRate(rate, `${where}: the target sample rate`, limits);
  // Resampling costs O(output x 32 x max(1, from/to)): both rates are bounded above, so the ratio is too; the output
  // is bounded here from the header, before any work.
  const info = readWavInfo(bytes, where, limits);
  const resampled = Math.floor((info.frames * rate) / info.sampleRate);
  if (resampled > limits.maxElements) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: ${info.frames} samples at ${info.sampleRate} Hz resampled to ${rate} Hz would be ${resampled} samples; at most ` +
        `${limits.maxElements} are made from one file (METAMERS_MAX_STIMULUS_ELEMENTS)`,
      { limit: limits.maxElements, samples: resampled },
    );
  }
  const decoded = decodeWav(bytes, where, limits);
  let x = resample(decoded.samples, decoded.sampleRate, rate);
  if (x.length < length) {
    throw new AppError(
      "INVALID_STIMULUS",
      `${where}: the sound lasts ${(decoded.samples.length / decoded.sampleRate).toFixed(3)} s (${x.length} samples at ${rate} Hz); ` +
        `the model input needs ${length} samples (${(length / rate).toFixed(3)} s)`,
    );
  }
  // Longer sounds: keep the centre excerpt of the right length.
  const start = Math.floor((x.length - length) / 2);
  x = x.subarray(start, start + length);
  let mean = 0;
  for (const v of x) mean += v / length;
  const out = new Float32Array(length);
  let energy = 0;
  for (let i = 0; i < length; i++) {
    const v = x[i] - mean;
    out[i] = v;
    energy += v * v;
  }
  if (spec.rms != null) {
    const current = Math.sqrt(energy / length);
    if (current === 0) throw new AppError("INVALID_STIMULUS", `${where}: the sound is silent; it cannot be RMS-normalised`);
    const gain = spec.rms / current;
    for (let i = 0; i < length; i++) out[i] *= gain;
  }
  return out;
}

/** float32 little-endian bytes of a tensor (the format of stimulus tensor blobs). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
