/**
 * The headphone check of Woods et al. (2017), used by the paper's audio experiments: three 200 Hz tones, one of them
 * 6 dB quieter and one played in antiphase between the left and right channels; the listener picks the quietest.
 * Over headphones the antiphase tone sounds as loud as the others; over loudspeakers the two channels partly cancel,
 * so it tends to be picked instead of the truly quieter one. Deterministic: the same trial gives the same bytes.
 */

const SAMPLE_RATE = 22_050;
const TONE_S = 1;
const GAP_S = 0.5;
const FREQUENCY = 200;
const RAMP_S = 0.1;
const AMPLITUDE = 0.5;

/** A 16-bit stereo WAV of the three tones of one trial (0-based positions of the antiphase and the quieter tone). */
export function headphoneTrialWav(trial: { antiphase: number; quieter: number }): Uint8Array {
  const toneSamples = Math.round(TONE_S * SAMPLE_RATE);
  const gapSamples = Math.round(GAP_S * SAMPLE_RATE);
  const frames = 3 * toneSamples + 2 * gapSamples;
  const dataBytes = frames * 4;
  const out = Buffer.alloc(44 + dataBytes);
  out.write("RIFF", 0, "ascii");
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write("WAVE", 8, "ascii");
  out.write("fmt ", 12, "ascii");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(2, 22); // stereo
  out.writeUInt32LE(SAMPLE_RATE, 24);
  out.writeUInt32LE(SAMPLE_RATE * 4, 28);
  out.writeUInt16LE(4, 32);
  out.writeUInt16LE(16, 34);
  out.write("data", 36, "ascii");
  out.writeUInt32LE(dataBytes, 40);
  const ramp = Math.round(RAMP_S * SAMPLE_RATE);
  for (let tone = 0; tone < 3; tone++) {
    const start = tone * (toneSamples + gapSamples);
    const gain = AMPLITUDE * (tone === trial.quieter ? 10 ** (-6 / 20) : 1);
    const rightSign = tone === trial.antiphase ? -1 : 1;
    for (let i = 0; i < toneSamples; i++) {
      // Raised-cosine on/off ramps: no clicks, which would give the loudness away.
      const envelope = i < ramp ? 0.5 - 0.5 * Math.cos((Math.PI * i) / ramp) : i >= toneSamples - ramp ? 0.5 - 0.5 * Math.cos((Math.PI * (toneSamples - 1 - i)) / ramp) : 1;
      const v = gain * envelope * Math.sin((2 * Math.PI * FREQUENCY * i) / SAMPLE_RATE);
      const offset = 44 + (start + i) * 4;
      out.writeInt16LE(Math.round(v * 32767), offset);
      out.writeInt16LE(Math.round(rightSign * v * 32767), offset + 2);
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
