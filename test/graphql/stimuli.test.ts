import { readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import wavefile from "wavefile";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { float32FromBytes, resample } from "../../src/engine/index.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const fixtures = AUTODIFF_FIXTURES;

/** A w x h RGB PNG whose red channel is a horizontal ramp, green a vertical ramp, blue constant 64. */
async function rampPng(w: number, h: number): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      raw[i] = Math.round((255 * x) / (w - 1));
      raw[i + 1] = Math.round((255 * y) / (h - 1));
      raw[i + 2] = 64;
    }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

/** A 16-bit mono WAV of a sine tone plus a DC offset. */
function toneWav(rate: number, seconds: number, freq: number, dc = 0.1): Buffer {
  const n = Math.round(rate * seconds);
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) samples[i] = Math.round(16000 * (dc + 0.5 * Math.sin((2 * Math.PI * freq * i) / rate)));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, rate, "16", samples);
  return Buffer.from(wav.toBuffer());
}

const CREATE_SET = `mutation($i: CreateStimulusSetInput!) { createStimulusSet(input: $i) { id name modality classLabels } }`;
const ADD = `mutation($i: AddStimuliInput!) { addStimuli(input: $i) { id sha256 label shape tensors { shape sha256 } } }`;

let t: TestApp;
let key: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("stimuli-lab", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

async function tensorOf(sha256: string): Promise<Float32Array> {
  const res = await fetch(`${t.url}/blobs/${sha256}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return float32FromBytes(new Uint8Array(await res.arrayBuffer()));
}

describe("image stimuli", () => {
  let setId: string;
  let modelId: string;
  beforeAll(async () => {
    const set = await t.gql(CREATE_SET, { i: { name: "ramps", modality: "IMAGE", classLabels: ["ramp", "other"] } }, key);
    setId = set.data.createStimulusSet.id;
    const data = (await readFile(path.join(fixtures, "lenet.onnx"))).toString("base64");
    const m = await t.gql(`mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }`, { i: { name: "lenet", modality: "IMAGE", data } }, key);
    modelId = m.data.registerModel.id;
  });

  it("keeps the original and makes a float32 tensor for the model input (channels, size, range)", async () => {
    const png = await rampPng(56, 56);
    const r = await t.gql(ADD, { i: { setId, modelId, items: [{ label: "ramp", data: png.toString("base64"), filename: "ramp.png" }] } }, key);
    expect(r.errors).toBeUndefined();
    const [s] = r.data.addStimuli;
    expect(s.label).toBe("ramp");
    expect(s.shape).toEqual([1, 1, 28, 28]);
    // the original bytes are kept under their sha256
    const original = await fetch(`${t.url}/blobs/${s.sha256}`, { headers: { authorization: `Bearer ${key}` } });
    expect(Buffer.from(await original.arrayBuffer()).equals(png)).toBe(true);
    // greyscale of a ramp image: increases left to right and top to bottom, inside [0, 1]
    const x = await tensorOf(s.tensors[0].sha256);
    expect(x.length).toBe(28 * 28);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(x[27]).toBeGreaterThan(x[0]);
    expect(x[27 * 28]).toBeGreaterThan(x[0]);
  });

  it("converts to 3 channels in planar (CHW) order for an explicit input shape", async () => {
    const png = await rampPng(40, 40);
    const r = await t.gql(ADD, { i: { setId, inputShape: [1, 3, 32, 32], items: [{ label: "ramp", data: png.toString("base64"), filename: "r40.png" }] } }, key);
    expect(r.errors).toBeUndefined();
    const x = await tensorOf(r.data.addStimuli[0].tensors[0].sha256);
    const plane = 32 * 32;
    // red = horizontal ramp, green = vertical ramp, blue = 64/255
    expect(x[31]).toBeGreaterThan(0.9);
    expect(x[0]).toBeLessThan(0.1);
    expect(x[plane + 31 * 32]).toBeGreaterThan(0.9);
    expect(x[2 * plane + 100]).toBeCloseTo(64 / 255, 2);
  });

  it("lists the set's stimuli as a connection", async () => {
    const r = await t.gql(
      `query($id: ID!) { stimulusSet(id: $id) { name stimuli(first: 1) { totalCount edges { node { label filename shape } } pageInfo { hasNextPage endCursor } } } }`,
      { id: setId },
      key,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.stimulusSet.stimuli.totalCount).toBe(2);
    expect(r.data.stimulusSet.stimuli.edges[0].node).toEqual({ label: "ramp", filename: "ramp.png", shape: [1, 1, 28, 28] });
    expect(r.data.stimulusSet.stimuli.pageInfo.hasNextPage).toBe(true);
  });

  describe("bad input is refused and leaves the database unchanged", () => {
    async function expectRefused(items: object[], code: string, message: RegExp, extra: object = {}) {
      const before = await countRows(t.store);
      const r = await t.gql(ADD, { i: { setId, items, ...extra } }, key);
      expect(r.errors?.[0].extensions?.code).toBe(code);
      expect(r.errors?.[0].message).toMatch(message);
      expect(await countRows(t.store)).toEqual(before);
    }

    it("a zero-byte file -> INVALID_STIMULUS", async () => {
      await expectRefused([{ label: "ramp", data: "", filename: "empty.png" }], "INVALID_STIMULUS", /empty \(0 bytes\)/);
    });

    it("an image too small for the model input -> INVALID_STIMULUS naming both sizes", async () => {
      const png = await rampPng(8, 8);
      await expectRefused([{ label: "ramp", data: png.toString("base64"), filename: "tiny.png" }], "INVALID_STIMULUS", /8x8 pixels.*at least 28x28/, {
        modelId,
      });
    });

    it("an image for an input shape that is not an image -> INVALID_STIMULUS", async () => {
      const png = await rampPng(32, 32);
      await expectRefused([{ label: "ramp", data: png.toString("base64") }], "INVALID_STIMULUS", /shape \[1,C,H,W\].*\[1,8000\]/, {
        inputShape: [1, 8000],
      });
    });

    it("a label that is not a class of the set -> BAD_USER_INPUT listing the classes", async () => {
      const png = await rampPng(32, 32);
      await expectRefused([{ label: "cat", data: png.toString("base64") }], "BAD_USER_INPUT", /'cat' is not a class.*ramp, other/);
    });

    it("reports every refused file at once", async () => {
      const png = await rampPng(32, 32);
      await expectRefused(
        [
          { label: "ramp", data: "", filename: "a.png" },
          { label: "ramp", data: png.toString("base64"), filename: "ok.png" },
          { label: "ramp", data: toneWav(8000, 0.1, 440).toString("base64"), filename: "b.wav" },
        ],
        "INVALID_STIMULUS",
        /2 of 3 files were refused[\s\S]*a\.png[\s\S]*b\.wav.*got a WAV file/,
      );
    });
  });
});

describe("audio stimuli", () => {
  let setId: string;
  beforeAll(async () => {
    const set = await t.gql(CREATE_SET, { i: { name: "tones", modality: "AUDIO", classLabels: ["tone"] } }, key);
    setId = set.data.createStimulusSet.id;
  });

  it("decodes, resamples, removes the mean and RMS-normalises", async () => {
    const wav = toneWav(16000, 1.2, 200, 0.1);
    const r = await t.gql(ADD, { i: { setId, inputShape: [1, 1, 8000], rms: 0.05, items: [{ label: "tone", data: wav.toString("base64"), filename: "tone.wav" }] } }, key);
    expect(r.errors).toBeUndefined();
    expect(r.data.addStimuli[0].shape).toEqual([1, 1, 8000]);
    // no sample rate declared on the set: the file's own rate is kept, 8000 samples = the centre 0.5 s
    const x = await tensorOf(r.data.addStimuli[0].tensors[0].sha256);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const rms = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length);
    expect(Math.abs(mean)).toBeLessThan(1e-6);
    expect(rms).toBeCloseTo(0.05, 5);
  });

  it("a PNG where WAV is expected -> INVALID_STIMULUS, database unchanged", async () => {
    const before = await countRows(t.store);
    const png = await rampPng(32, 32);
    const r = await t.gql(ADD, { i: { setId, items: [{ label: "tone", data: png.toString("base64"), filename: "x.png" }] } }, key);
    expect(r.errors?.[0].extensions?.code).toBe("INVALID_STIMULUS");
    expect(r.errors?.[0].message).toMatch(/expected a WAV file .* got a PNG image/);
    expect(await countRows(t.store)).toEqual(before);
  });
});

describe("resample", () => {
  it("keeps a tone below both Nyquist frequencies and removes one above the new Nyquist", () => {
    const from = 16000;
    const to = 8000;
    const n = 16000;
    const tone = (f: number) => Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / from));
    const low = resample(tone(500), from, to);
    const high = resample(tone(6000), from, to);
    expect(low.length).toBe(8000);
    // away from the edges, the 500 Hz tone matches the analytic signal at the new rate
    let maxErr = 0;
    for (let j = 200; j < 7800; j++) maxErr = Math.max(maxErr, Math.abs(low[j] - Math.sin((2 * Math.PI * 500 * j) / to)));
    expect(maxErr).toBeLessThan(0.01);
    // the 6 kHz tone (above 4 kHz) is filtered out instead of aliasing to 2 kHz
    const rms = Math.sqrt(high.slice(200, 7800).reduce((a, v) => a + v * v, 0) / 7600);
    expect(rms).toBeLessThan(0.02);
  });
});
