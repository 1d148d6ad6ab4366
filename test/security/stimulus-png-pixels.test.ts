// Issue 10 item 7: a 747 KB PNG added without a target model was decoded at full size and held 6.6 GB. The header's
// pixel count and the tensor's size are checked before decoding (METAMERS_MAX_STIMULUS_PIXELS / _ELEMENTS).
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/authorization.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { blankPng } from "./stimulus-files.js";

let t: TestApp;
let ctx: RequestContext;
let setId: string;
beforeAll(async () => {
  t = await startTestApp();
  const { groupId } = await t.createGroupWithKey("png-bombers", "MEMBER");
  ctx = { groupId, role: "MEMBER", apiKeyId: "test" };
  setId = (await t.services.stimuli.createSet(ctx, { name: "images", modality: "IMAGE" })).id;
});
afterAll(async () => {
  await t?.close();
});

const add = (png: Buffer, inputShape?: number[]) =>
  t.services.stimuli.addStimuli(ctx, { setId, inputShape, items: [{ label: "x", filename: "bomb.png", data: png.toString("base64") }] });

it("refuses a small PNG declaring 30000x30000 pixels from its header, without decoding it", async () => {
  const png = blankPng(30000, 30000);
  expect(png.byteLength).toBeLessThan(1024 * 1024);
  const before = await countRows(t.store);
  const rss0 = process.memoryUsage().rss;
  await expect(add(png)).rejects.toMatchObject({
    code: "INVALID_STIMULUS",
    message: "items[0] (bomb.png): the image is 30000x30000 = 900000000 pixels; at most 67108864 pixels are decoded (METAMERS_MAX_STIMULUS_PIXELS)",
  });
  // with a target shape (downscaling) the decoder is bounded the same way
  await expect(add(png, [1, 1, 28, 28])).rejects.toMatchObject({ code: "INVALID_STIMULUS", message: expect.stringContaining("900000000 pixels") });
  expect(process.memoryUsage().rss - rss0).toBeLessThan(500 * 1024 * 1024); // decoding would take 900 MB to 3.6 GB
  expect(await countRows(t.store)).toEqual(before);
});

it("refuses a PNG under the pixel limit whose tensor would exceed the element limit", async () => {
  // 5000 x 4000 grey = 20M floats (80 MB) > 16,777,216
  await expect(add(blankPng(5000, 4000))).rejects.toMatchObject({
    code: "INVALID_STIMULUS",
    message: "items[0] (bomb.png): the tensor would have shape [1,1,4000,5000] = 20000000 values; at most 16777216 are made from one file (METAMERS_MAX_STIMULUS_ELEMENTS)",
  });
});

it("still converts an ordinary image at its own size", async () => {
  const [s] = await add(blankPng(64, 48, { rgb: true }));
  expect(s.shape).toEqual([1, 3, 48, 64]);
});
