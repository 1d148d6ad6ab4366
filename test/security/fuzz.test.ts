// Seeded mutations of a fixture ONNX model, a PNG and a WAV go through the registry and the
// stimulus conversion (the service functions the HTTP API calls). Every outcome is a success or a documented error
// code: no INTERNAL error, no hang, no crash. Seeds are fixed, so a failure reproduces exactly.
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config.js";
import { SeededRandom } from "../../src/engine/random.js";
import { isAppError } from "../../src/errors.js";
import type { RequestContext } from "../../src/services/authorization.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { wav } from "./stimulus-files.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const MUTATIONS = 500;
const DOCUMENTED = new Set(["INVALID_ONNX", "UNSUPPORTED_MODEL", "BAD_USER_INPUT", "PAYLOAD_TOO_LARGE", "INVALID_STIMULUS", "CONFLICT"]);
const fixture = path.join(AUTODIFF_FIXTURES, "cochnet.onnx");

type Mutation = { name: string; bytes: Uint8Array };

/** One seeded mutation: byte flips (half of them in the first 4 KiB, where protobuf and file headers sit),
 *  truncation, insertion, duplication of a slice, an extreme 32-bit value, or a zeroed range. */
export function mutate(source: Uint8Array, rng: SeededRandom): Mutation {
  const b = Uint8Array.from(source);
  const pos = (n = b.length) => (rng.next() < 0.5 ? rng.nextInt(Math.min(n, 4096)) : rng.nextInt(n));
  switch (rng.nextInt(6)) {
    case 0: {
      const k = 1 + rng.nextInt(8);
      for (let i = 0; i < k; i++) b[pos()] = rng.nextInt(256);
      return { name: `flip${k}`, bytes: b };
    }
    case 1:
      return { name: "truncate", bytes: b.subarray(0, pos()) };
    case 2: {
      const at = pos();
      const junk = Uint8Array.from({ length: 1 + rng.nextInt(64) }, () => rng.nextInt(256));
      return { name: "insert", bytes: Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]) };
    }
    case 3: {
      const at = pos();
      const len = 1 + rng.nextInt(256);
      return { name: "duplicate", bytes: Uint8Array.from([...b.subarray(0, at + len), ...b.subarray(at, at + len), ...b.subarray(at + len)]) };
    }
    case 4: {
      const at = pos(b.length - 4);
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0, 1][rng.nextInt(5)];
      new DataView(b.buffer).setUint32(at, v, rng.next() < 0.5);
      return { name: "extreme", bytes: b };
    }
    default: {
      const at = pos();
      b.fill(0, at, at + 1 + rng.nextInt(32));
      return { name: "zero", bytes: b };
    }
  }
}

interface Tally {
  outcomes: Record<string, number>;
  unexpected: string[];
}

async function fuzz(seed: number, source: Uint8Array, attempt: (bytes: Uint8Array, i: number) => Promise<unknown>): Promise<Tally> {
  const rng = new SeededRandom(seed);
  const tally: Tally = { outcomes: {}, unexpected: [] };
  for (let i = 0; i < MUTATIONS; i++) {
    const m = mutate(source, rng);
    let outcome: string;
    try {
      await attempt(m.bytes, i);
      outcome = "ok";
    } catch (e) {
      outcome = isAppError(e) ? e.code : "non-AppError";
      if (!isAppError(e) || !DOCUMENTED.has(e.code)) {
        tally.unexpected.push(`#${i} ${m.name}: ${outcome}: ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
      }
    }
    tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
  }
  return tally;
}

let t: TestApp;
let ctx: RequestContext;
beforeAll(async () => {
  // A tight wall clock: a mutation that makes the model loop is refused quickly rather than slowing the test.
  t = await startTestApp({ config: { limits: { ...DEFAULT_LIMITS, inspectTimeoutMs: 10_000 } } });
  const { groupId } = await t.createGroupWithKey("fuzzers", "MEMBER");
  ctx = { groupId, role: "MEMBER", apiKeyId: "test" };
});
afterAll(async () => {
  await t?.close();
});

describe(`${MUTATIONS} seeded mutations each`, () => {
  it("of an ONNX model: registered or refused with a documented code", { timeout: 240_000 }, async () => {
    const source = new Uint8Array(readFileSync(fixture));
    const started = performance.now();
    const tally = await fuzz(1001, source, (bytes) =>
      t.services.models.register(ctx, { name: "fuzzed", modality: "AUDIO", data: Buffer.from(bytes).toString("base64") }),
    );
    console.info(`onnx fuzz: ${JSON.stringify(tally.outcomes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(tally.unexpected).toEqual([]);
    expect(tally.outcomes.ok ?? 0).toBeGreaterThan(0); // the mutations are not all trivially broken
    expect(Object.keys(tally.outcomes).length).toBeGreaterThan(2);
  });

  it("of a PNG and of a WAV: converted or refused with a documented code", { timeout: 240_000 }, async () => {
    const pixels = Buffer.alloc(48 * 40 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
    const png = new Uint8Array(await sharp(pixels, { raw: { width: 48, height: 40, channels: 3 } }).png().toBuffer());
    const sound = new Uint8Array(wav(16000, 4000));
    const images = await t.services.stimuli.createSet(ctx, { name: "fuzz-images", modality: "IMAGE" });
    const sounds = await t.services.stimuli.createSet(ctx, { name: "fuzz-sounds", modality: "AUDIO", sampleRate: 16000 });
    const started = performance.now();
    const add = (setId: string, inputShape: number[] | undefined) => (bytes: Uint8Array, i: number) =>
      t.services.stimuli.addStimuli(ctx, { setId, inputShape: i % 2 ? inputShape : undefined, items: [{ label: "x", filename: `m${i}`, data: Buffer.from(bytes).toString("base64") }] });
    const pngTally = await fuzz(2002, png, add(images.id, [1, 3, 32, 32]));
    const wavTally = await fuzz(3003, sound, add(sounds.id, [1, 1, 2000]));
    console.info(`png fuzz: ${JSON.stringify(pngTally.outcomes)}; wav fuzz: ${JSON.stringify(wavTally.outcomes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect([...pngTally.unexpected, ...wavTally.unexpected]).toEqual([]);
    expect(pngTally.outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(wavTally.outcomes.ok ?? 0).toBeGreaterThan(0);
  });
});
