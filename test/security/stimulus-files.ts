// Stimulus files built in code for the attack and fuzz tests: PNGs whose header declares any size (rows of zeros
// deflate about 1000:1) and WAVs whose header declares any sample rate.
import { crc32, deflateSync } from "node:zlib";

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid black PNG of width x height, grey (1 channel) at `bitDepth` bits or RGB at 8 bits. */
export function blankPng(width: number, height: number, options: { rgb?: boolean; bitDepth?: 1 | 8 } = {}): Buffer {
  const bitDepth = options.rgb ? 8 : (options.bitDepth ?? 1);
  const rowBytes = 1 + Math.ceil((width * (options.rgb ? 3 : 1) * bitDepth) / 8);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = options.rgb ? 2 : 0;
  const raw = Buffer.alloc(rowBytes * height); // filter byte 0 and zero pixels on every row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A 16-bit PCM mono WAV whose header says `sampleRate`, holding `samples` (a deterministic ramp of tones). */
export function wav(sampleRate: number, samples: number, freq = 440, rateForTone = sampleRate): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * freq * i) / rateForTone)), i * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8, "latin1");
  header.write("fmt ", 12, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
