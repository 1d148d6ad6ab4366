// Issue 10 item 7: an 8 KB WAV whose header claimed 1 Hz was resampled to the set's rate on the event loop (50.8 s,
// a 256 MB tensor). Rates outside 1 kHz-384 kHz are refused from the header, the resampled length is bounded before
// any work, and decoding/resampling run on a worker thread.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { wav } from "./stimulus-files.js";

let t: TestApp;
let ctx: RequestContext;
beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("wav-bombers", "MEMBER");
  ctx = { groupId, role: "MEMBER", apiKeyId: "test" };
});
afterAll(async () => {
  await t?.close();
});

const setAt = async (name: string, sampleRate: number) => (await t.services.stimuli.createSet(ctx, { name, modality: "AUDIO", sampleRate })).id;
const add = (setId: string, file: Buffer) => t.services.stimuli.addStimuli(ctx, { setId, items: [{ label: "x", filename: "a.wav", data: file.toString("base64") }] });

it("refuses the 8 KB WAV claiming 1 Hz from its header, at once", async () => {
  const setId = await setAt("sixteen-k", 16000);
  const file = wav(1, 4000);
  expect(file.byteLength).toBeLessThan(8200);
  const before = await countRows(t.store);
  await expect(add(setId, file)).rejects.toMatchObject({
    code: "INVALID_STIMULUS",
    message: "items[0] (a.wav): the WAV header's sample rate is 1 Hz; expected 1000 to 384000 Hz (METAMERS_MIN_SAMPLE_RATE, METAMERS_MAX_SAMPLE_RATE)",
  });
  expect(await countRows(t.store)).toEqual(before);
});

it("refuses a resampling whose output would exceed the element limit, before resampling", async () => {
  const setId = await setAt("max-rate", 384000);
  // 50 s at 1 kHz (100 KB) -> 19.2M samples at 384 kHz > 16,777,216
  await expect(add(setId, wav(1000, 50_000))).rejects.toMatchObject({
    code: "INVALID_STIMULUS",
    message: expect.stringMatching(/the tensor would have shape \[1,19200000\] = 19200000 values; at most 16777216 are made from one file/),
  });
});

it("resamples a long sound on a worker thread: the event loop keeps ticking", async () => {
  const setId = await setAt("cd-rate", 44100);
  const file = wav(48000, 48000 * 20); // 20 s at 48 kHz -> 44.1 kHz: about a second of sinc work
  // Timer callbacks that ran while the conversion was under way: on this thread it would hold the event loop
  // and none would run until it finished.
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  try {
    const [s] = await add(setId, file);
    expect(s.shape).toEqual([1, 882000]);
  } finally {
    clearInterval(ticker);
  }
  expect(performance.now() - t0).toBeGreaterThan(300); // the work is real...
  expect(ticks).toBeGreaterThanOrEqual(10); // ...and it did not happen on this thread
});
