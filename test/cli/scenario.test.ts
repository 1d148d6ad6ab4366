// Issue 13's acceptance scenario, replayed as a lab would run it with the CLI against a real test server: register a
// torchvision-like model (a small generated one, with its input normalization), synthesize with stage labels, list
// the batch and the metamers by filter, read curves by stage label with a recognizer panel, get the files; and the
// replay of an idempotent `synthesize --wait` waits for the batch's jobs that are still queued or running.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/engine/index.js";
import { MetamersClient } from "../../src/cli/client.js";
import { runCli } from "../../src/cli/main.js";
import { buildModel } from "../engine/build-model.js";
import { inProcessCli } from "../helpers/cli.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { inProcessWorker } from "../helpers/synthesis-fixtures.js";

const CLASSES = ["cat", "dog", "bird"];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const STAGES = { conv1: "/relu/Relu_output_0", layer1: "/layer1/layer1.0/relu/Relu_output_0" };

/**
 * A ResNet-like classifier as torchvision exports it (tensor names included), shrunk: 3x32x32 input, conv1 + relu +
 * maxpool, one conv block (layer1), global average pool, fc to the 3 classes. Weights from `seed`.
 */
function tinyResnet(seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const weights = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.normal() * scale);
  return buildModel({
    inputs: [{ name: "input", shape: [1, 3, 32, 32] }],
    nodes: [
      { op: "Conv", inputs: ["input", "conv1.weight"], outputs: ["/conv1/Conv_output_0"], attrs: { pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } } },
      { op: "Relu", inputs: ["/conv1/Conv_output_0"], outputs: [STAGES.conv1] },
      { op: "MaxPool", inputs: [STAGES.conv1], outputs: ["/maxpool/MaxPool_output_0"], attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } } },
      { op: "Conv", inputs: ["/maxpool/MaxPool_output_0", "layer1.0.conv1.weight", "layer1.0.conv1.bias"], outputs: ["/layer1/layer1.0/conv1/Conv_output_0"], attrs: { pads: { ints: [1, 1, 1, 1] } } },
      { op: "Relu", inputs: ["/layer1/layer1.0/conv1/Conv_output_0"], outputs: [STAGES.layer1] },
      { op: "GlobalAveragePool", inputs: [STAGES.layer1], outputs: ["/avgpool/GlobalAveragePool_output_0"] },
      { op: "Flatten", inputs: ["/avgpool/GlobalAveragePool_output_0"], outputs: ["/Flatten_output_0"], attrs: { axis: { i: 1 } } },
      { op: "Gemm", inputs: ["/Flatten_output_0", "fc.weight", "fc.bias"], outputs: ["logits"], attrs: { transB: { i: 1 } } },
    ],
    initializers: {
      "conv1.weight": { f32: weights(8 * 3 * 3 * 3, 0.3), dims: [8, 3, 3, 3] },
      "layer1.0.conv1.weight": { f32: weights(8 * 8 * 3 * 3, 0.2), dims: [8, 8, 3, 3] },
      "layer1.0.conv1.bias": { f32: weights(8, 0.05), dims: [8] },
      "fc.weight": { f32: weights(3 * 8, 1), dims: [3, 8] },
      "fc.bias": { f32: [0, 0, 0], dims: [3] },
    },
    outputs: ["logits"],
  });
}

/** A 40x40 RGB photo stand-in: a seeded colour gradient with noise (the hub centre-crops and resizes it to 32x32). */
async function photo(seed: number): Promise<Buffer> {
  const rng = new SeededRandom(seed);
  const [r0, g0, b0] = [rng.next(), rng.next(), rng.next()];
  const pixels = Buffer.alloc(40 * 40 * 3);
  for (let y = 0; y < 40; y++)
    for (let x = 0; x < 40; x++) {
      const base = [r0 * x / 40, g0 * y / 40, b0 * (x + y) / 80];
      for (let c = 0; c < 3; c++) pixels[(y * 40 + x) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, base[c] + 0.25 * rng.next())));
    }
  return sharp(pixels, { raw: { width: 40, height: 40, channels: 3 } }).png().toBuffer();
}

let t: TestApp;
let key: string;
let tmp: string;
let worker: ReturnType<typeof inProcessWorker>;

beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("scenario-lab", "MEMBER"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-scenario-"));
  worker = inProcessWorker(t);
}, 300_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const { cli, json } = inProcessCli(() => ({ url: t.url, key, dataDir: tmp }));

/** `models add` with the ImageNet normalization, as a lab registers a torchvision export. */
const register = (name: string, file: string, stageFlags: string[]): Promise<{ id: string }> =>
  json("models", "add", file, "--name", name, "--labels", CLASSES.join(","), "--mean", MEAN.join(","), "--std", STD.join(","), ...stageFlags);

describe("issue 13 acceptance: a lab's day with the CLI", () => {
  it("registers, synthesizes by label, lists, reads curves with a panel, gets the files; an idempotent --wait replay waits", async () => {
    // 1. Two torchvision-like models with the ImageNet normalization: the generator and a recognizer.
    const generatorFile = path.join(tmp, "tiny_resnet.onnx");
    await writeFile(generatorFile, tinyResnet(1));
    const recognizerFile = path.join(tmp, "tiny_resnet_b.onnx");
    await writeFile(recognizerFile, tinyResnet(2));
    const generator = await register("tiny_resnet", generatorFile, ["--stage", `conv1=${STAGES.conv1}`, "--stage", `layer1=${STAGES.layer1}`]);
    const recognizer = await register("tiny_resnet_b", recognizerFile, []);
    const { model } = await new MetamersClient(t.url, key).gql(`query($id: ID!) { model(id: $id) { normalization { mean std } inputShape } }`, { id: generator.id });
    expect(model).toEqual({ normalization: { mean: MEAN, std: STD }, inputShape: [1, 3, 32, 32] });
    await expect(cli("models", "add", generatorFile, "--mean", MEAN.join(","))).rejects.toThrow(/expected --mean and --std together, got only --mean/);

    // 2. Photos, two per class.
    const set = await json("stimuli", "create-set", "--name", "photos", "--labels", CLASSES.join(","));
    for (const [i, label] of CLASSES.entries()) {
      const files = [];
      for (const k of [0, 1]) {
        const f = path.join(tmp, `${label}${k}.png`);
        await writeFile(f, await photo(10 * i + k));
        files.push(f);
      }
      expect(await json("stimuli", "add", set.id, ...files, "--label", label, "--model", generator.id)).toHaveLength(2);
    }

    // 3. Synthesis by stage label; the request queues 12 jobs (6 photos x 2 stages).
    const request = ["synthesize", "--model", generator.id, "--stages", "conv1,layer1", "--set", set.id, "--rounds", "2", "--steps", "100", "--idempotency-key", "lab-day-1"];
    const queued = await json(...request);
    expect(queued.jobs).toBe(12);
    // Some of the jobs run before the replay (the null distribution, then two metamers): the replay finds a batch
    // part done, part queued.
    for (let i = 0; i < 3; i++) expect(await worker.queue.runOne()).not.toBeNull();
    const before = await json("batches", "show", queued.batchId);
    expect(before.counts.succeeded).toBe(2);
    expect(before.counts.queued).toBe(10);

    // 4. The replay with --wait: the same batch, waited on until every job has ended while a worker runs them.
    let replayText = "";
    const replay = runCli([...request, "--wait", "--json"], { write: (s: string) => (replayText += s) }, { url: t.url, apiKey: key, dataDir: tmp });
    let replayEnded = false;
    void replay.finally(() => (replayEnded = true)).catch(() => undefined);
    // One job at a time with pauses, so the replay polls while jobs are still queued: it must not have returned
    // before any of its batch's jobs ran (recognition jobs, queued by finished metamers, may run after it).
    let synthesisRun = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const endedBefore = replayEnded;
      const r = await worker.queue.runOne();
      if (!r) break;
      if (r.job.kind !== "SYNTHESIS") continue;
      synthesisRun++;
      expect(endedBefore, `the replay returned while synthesis job ${synthesisRun} of the 10 left was still queued`).toBe(false);
    }
    expect(synthesisRun).toBe(10);
    await replay;
    const replayed = JSON.parse(replayText);
    expect(replayed.batchId).toBe(queued.batchId);
    expect(replayed.counts).toMatchObject({ succeeded: 12, failed: 0 });
    expect(replayed.results).toHaveLength(12);
    for (const r of replayed.results) expect(r.metamer?.id).toEqual(expect.any(String));
    // Recognition of the new metamers by the other model.
    await worker.drain();

    // 5. The batch and the metamers by filter.
    const batches = await json("batches", "list", "--model", generator.id);
    expect(batches.batches.map((b: { id: string }) => b.id)).toEqual([queued.batchId]);
    expect(batches.batches[0].counts).toMatchObject({ queued: 0, running: 0, succeeded: 12 });
    const layer1 = await json("metamers", "list", "--model", generator.id, "--stage", "layer1", "--first", "100");
    expect(layer1.totalCount).toBe(6);
    for (const m of layer1.metamers) expect(m).toMatchObject({ stage: STAGES.layer1, stageLabel: "layer1", batchId: queued.batchId });
    const cats = await json("metamers", "list", "--model", generator.id, "--stage", "layer1", "--label", "cat");
    expect(cats.totalCount).toBe(2);
    const passed = await json("metamers", "list", "--model", generator.id, "--stage", "layer1", "--passed", "true", "--first", "100");
    expect(passed.totalCount).toBeGreaterThan(0);

    // 6. Curves by stage label with a recognizer panel of the other model.
    const { createRecognizerPanel: panel } = await new MetamersClient(t.url, key).gql(
      `mutation($ids: [ID!]!) { createRecognizerPanel(name: "lab", modelIds: $ids) { id } }`, { ids: [recognizer.id] },
    );
    const [point] = await json("results", "curve", "--model", generator.id, "--panel", panel.id, "--stage", "layer1");
    expect(point).toMatchObject({ stage: STAGES.layer1, stageLabel: "layer1", recognizerIds: [recognizer.id], recognizerCount: 1, panelId: panel.id, n: 1 });
    // OTHER_MODELS averages its recognizers (n = 1 here): the one recognizer's accuracy over the validated metamers.
    expect(Math.abs(point.mean * passed.totalCount - Math.round(point.mean * passed.totalCount))).toBeLessThan(1e-9);
    expect(point.configHashes).toEqual([batches.batches[0].configHash]);
    expect(await cli("results", "curve", "--model", generator.id, "--panel", panel.id, "--stage", "layer1")).toMatch(/\n\/layer1\/layer1\.0\/relu\/Relu_output_0\s+layer1\s+\d\.\d{3}\s/);

    // 7. The validated layer1 metamers' files, with the CSV index.
    const dir = path.join(tmp, "layer1");
    const got = await json("metamers", "get", "--model", generator.id, "--stage", "layer1", "--passed", "true", "--out", dir);
    expect(got.metamers).toHaveLength(passed.totalCount);
    const index = (await readFile(path.join(dir, "index.csv"), "utf8")).trim().split("\n");
    expect(index).toHaveLength(1 + passed.totalCount);
    expect(index.slice(1).every((row) => row.includes(`,tiny_resnet,${STAGES.layer1},layer1,`) && row.includes(",true,"))).toBe(true);
    expect((await readdir(dir)).length).toBe(1 + 3 * passed.totalCount);
    const tensor = await readFile(path.join(dir, `${passed.metamers[0].id}.f32`));
    expect(tensor.byteLength).toBe(3 * 32 * 32 * 4);
  }, 900_000);
});
