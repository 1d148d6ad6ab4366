// Audio: decoding a WAV file (wavefile), resampling it (a windowed-sinc resampler) into a model input, and encoding a
// waveform as the 32-bit float WAV observers and other models hear.
import wavefile from "wavefile";
import { EngineError } from "../errors.js";
import { checkSampleRate, checkTensorSize, type StimulusLimits, type TensorSpec } from "./limits.js";
import type { Rendering } from "./rendering.js";

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** samples per channel, from the data chunk's size */
  frames: number;
}

/**
 * The format and length of a WAV file from its RIFF chunks, without decoding samples. INVALID_MEDIA for a broken
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
    throw new EngineError("INVALID_MEDIA", `${where}: the WAV file could not be decoded (expected a 'fmt ' chunk followed by a 'data' chunk)`);
  }
  checkSampleRate(fmt.sampleRate, `${where}: the WAV header's sample rate`, limits);
  const frames = Math.floor(dataBytes / (fmt.channels * Math.ceil(fmt.bitsPerSample / 8)));
  if (frames * fmt.channels > limits.maxElements) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: the WAV file holds ${frames} samples x ${fmt.channels} channels; at most ${limits.maxElements} samples are decoded ` +
        `(METAMERS_MAX_STIMULUS_ELEMENTS)`,
      { limit: limits.maxElements, samples: frames * fmt.channels },
    );
  }
  return { ...fmt, frames };
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
    throw new EngineError("INVALID_MEDIA", `${where}: the WAV file could not be decoded (${(e as Error).message})`);
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
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: audio can be converted to an input of shape [N], [1,N] or [1,1,N] with fixed N; the target shape is [${dims.join(",")}]`,
    );
  }
  const rate = spec.sampleRate;
  if (!rate || !(rate > 0)) {
    throw new EngineError("INVALID_ARGUMENT", `${where}: converting audio needs the model's sample rate; none is declared`);
  }
  checkTensorSize(dims, where, limits);
  checkSampleRate(rate, `${where}: the target sample rate`, limits);
  // Resampling costs O(output x 32 x max(1, from/to)): both rates are bounded above, so the ratio is too; the output
  // is bounded here from the header, before any work.
  const info = readWavInfo(bytes, where, limits);
  const resampled = Math.floor((info.frames * rate) / info.sampleRate);
  if (resampled > limits.maxElements) {
    throw new EngineError(
      "INVALID_MEDIA",
      `${where}: ${info.frames} samples at ${info.sampleRate} Hz resampled to ${rate} Hz would be ${resampled} samples; at most ` +
        `${limits.maxElements} are made from one file (METAMERS_MAX_STIMULUS_ELEMENTS)`,
      { limit: limits.maxElements, samples: resampled },
    );
  }
  const decoded = decodeWav(bytes, where, limits);
  let x = resample(decoded.samples, decoded.sampleRate, rate);
  if (x.length < length) {
    throw new EngineError(
      "INVALID_MEDIA",
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
    if (current === 0) throw new EngineError("INVALID_MEDIA", `${where}: the sound is silent; it cannot be RMS-normalised`);
    const gain = spec.rms / current;
    for (let i = 0; i < length; i++) out[i] *= gain;
  }
  return out;
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

