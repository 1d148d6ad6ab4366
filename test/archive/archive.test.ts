// Issue 13 item 8: archive (hidden from lists, readable by id), delete only what nothing references (CONFLICT naming
// what does), blobs removed with the rows, and the blob sweep of unreferenced blobs and expired uploads.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel } from "../engine/build-model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";
import { addImageSet, fixtureFloat32, imageVariants, inProcessWorker, LENET_STAGES, registerFixtureModel } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let adminKey: string;
let groupId: string;
let worker: ReturnType<typeof inProcessWorker>;

beforeAll(async () => {
  t = await startTestApp();
  ({ key, groupId } = await t.createGroupWithKey("archive-lab", "MEMBER"));
  adminKey = (await t.services.auth.createApiKey({ groupId, role: "ADMIN", apiKeyId: "test" }, "admin", "ADMIN")).key;
  worker = inProcessWorker(t);
}, 120_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

const ctxOf = () => ({ groupId, role: "ADMIN" as const, apiKeyId: "test" });
const hasBlob = async (sha256: string) => (await t.store.db.blob.count({ where: { sha256 } })) === 1;

describe("archive", () => {
  it("hides a model, a stimulus set and a batch from lists unless filter { archived: true }; each stays readable by id", async () => {
    const model = (await registerFixtureModel(t.services, ctxOf(), "lenet", "lenet.onnx", LENET_STAGES)).model;
    const { set, stimuli } = await addImageSet(t.services, ctxOf(), model.id, await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 2), "archive-set");
    const batch = await t.services.synthesis.synthesize(ctxOf(), { modelId: model.id, stages: ["relu1"], stimulusIds: [stimuli[0].id], config: { rounds: 1, stepsPerRound: 2 } });

    const listed = async () => {
      const r = await t.gql(
        `{ models { edges { node { id } } } stimulusSets { edges { node { id } } } synthesisBatches { edges { node { id } } }
           archivedModels: models(filter: { archived: true }) { edges { node { id archivedAt } } }
           archivedSets: stimulusSets(filter: { archived: true }) { edges { node { id } } }
           archivedBatches: synthesisBatches(filter: { archived: true }) { edges { node { id } } } }`,
        {},
        key,
      );
      expect(r.errors).toBeUndefined();
      const ids = (k: string) => r.data[k].edges.map((e: any) => e.node.id);
      return { models: ids("models"), sets: ids("stimulusSets"), batches: ids("synthesisBatches"), archived: [...ids("archivedModels"), ...ids("archivedSets"), ...ids("archivedBatches")] };
    };
    expect(await listed()).toMatchObject({ models: [model.id], sets: [set.id], batches: [batch.batch.id], archived: [] });

    const a = await t.gql(
      `mutation($m: ID!, $s: ID!, $b: ID!) { archiveModel(modelId: $m) { id archivedAt } archiveStimulusSet(setId: $s) { id archivedAt }
         archiveSynthesisBatch(batchId: $b) { id archivedAt } }`,
      { m: model.id, s: set.id, b: batch.batch.id },
      key,
    );
    expect(a.errors).toBeUndefined();
    expect(a.data.archiveModel.archivedAt).not.toBeNull();
    expect(await listed()).toEqual({ models: [], sets: [], batches: [], archived: [model.id, set.id, batch.batch.id] });
    // readable by id, with its archive date
    const byId = await t.gql(`query($m: ID!, $s: ID!, $b: ID!) { model(id: $m) { archivedAt } stimulusSet(id: $s) { archivedAt } synthesisBatch(id: $b) { archivedAt } }`, { m: model.id, s: set.id, b: batch.batch.id }, key);
    expect(byId.data.model.archivedAt).toBe(a.data.archiveModel.archivedAt);
    expect(byId.data.stimulusSet.archivedAt).not.toBeNull();
    expect(byId.data.synthesisBatch.archivedAt).not.toBeNull();

    const u = await t.gql(
      `mutation($m: ID!, $s: ID!, $b: ID!) { unarchiveModel(modelId: $m) { archivedAt } unarchiveStimulusSet(setId: $s) { archivedAt } unarchiveSynthesisBatch(batchId: $b) { archivedAt } }`,
      { m: model.id, s: set.id, b: batch.batch.id },
      key,
    );
    expect(u.data).toEqual({ unarchiveModel: { archivedAt: null }, unarchiveStimulusSet: { archivedAt: null }, unarchiveSynthesisBatch: { archivedAt: null } });
    expect(await listed()).toMatchObject({ models: [model.id], sets: [set.id], batches: [batch.batch.id], archived: [] });
    await t.services.synthesis.cancel(ctxOf(), batch.batch.id);
  });
});

describe("delete", () => {
  it("refuses while batches, metamers or jobs use an object, naming them; then deletes in order and removes the blobs", async () => {
    const { groupId: g, key: k } = await t.createGroupWithKey("delete-lab", "ADMIN");
    const ctx = { groupId: g, role: "ADMIN" as const, apiKeyId: "test" };
    // A file no other model has (lenet with a normalization), so its blob can go; its metamer is made through the wrapper.
    const model = (
      await t.services.models.register(ctx, {
        name: "lenet",
        modality: "IMAGE",
        data: readFileSync(path.join(AUTODIFF_FIXTURES, "lenet.onnx")).toString("base64"),
        stageLabels: LENET_STAGES,
        classLabels: Array.from({ length: 10 }, (_, i) => `class${i}`),
        normalization: { mean: [0.1307], std: [0.3081] },
      })
    ).model;
    // Images no other set holds (the archive test's set has the variants of a 2-image set), so their blobs can go.
    const pngs = (await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 3)).slice(1);
    const { set, stimuli } = await addImageSet(t.services, ctx, model.id, pngs, "delete-set");
    const running = await t.services.synthesis.synthesize(ctx, { modelId: model.id, stages: ["relu1"], stimulusIds: [stimuli[0].id], config: { rounds: 1, stepsPerRound: 2 } });
    const done = await t.services.synthesis.synthesize(ctx, { modelId: model.id, stages: ["relu1"], stimulusIds: [stimuli[1].id], config: { rounds: 1, stepsPerRound: 2 }, seed: 5 });
    await t.services.synthesis.cancel(ctx, running.batch.id);
    await worker.drain();
    const metamer = await t.store.db.metamer.findFirstOrThrow({ where: { modelId: model.id } });

    const del = (what: string, arg: string, id: string) => t.gql(`mutation($id: ID!) { ${what}(${arg}: $id) { id blobsRemoved bytesFreed } }`, { id }, k);
    const m1 = await del("deleteModel", "modelId", model.id);
    expect(m1.errors?.[0].extensions?.code).toBe("CONFLICT");
    expect(m1.errors?.[0].message).toBe("modelId: 2 batches and 1 metamer use model 'lenet v1', so it cannot be deleted (delete those first, or archive it instead)");
    const s1 = await del("deleteStimulusSet", "setId", set.id);
    expect(s1.errors?.[0].message).toBe("setId: 2 synthesis jobs and 1 metamer use stimulus set 'delete-set', so it cannot be deleted (delete those first, or archive it instead)");

    // A batch with a queued job cannot go; a finished or cancelled one can.
    const queued = await t.services.synthesis.synthesize(ctx, { modelId: model.id, stages: ["relu1"], stimulusIds: [stimuli[0].id], config: { rounds: 1, stepsPerRound: 2 }, seed: 9 });
    const b0 = await del("deleteSynthesisBatch", "batchId", queued.batch.id);
    expect(b0.errors?.[0].message).toBe(`batchId: 1 queued or running job use synthesis batch '${queued.batch.id}', so it cannot be deleted`);
    await t.services.synthesis.cancel(ctx, queued.batch.id);

    for (const b of [running, done, queued]) {
      const r = await del("deleteSynthesisBatch", "batchId", b.batch.id);
      expect(r.errors).toBeUndefined();
    }
    // the metamer's tensor and rendering went with its batch
    expect(await t.store.db.metamer.count({ where: { id: metamer.id } })).toBe(0);
    expect(await hasBlob(metamer.tensorSha256)).toBe(false);
    expect(await hasBlob(metamer.renderingSha256)).toBe(false);

    // Nothing uses the set and the model now.
    const files = (await t.store.db.stimulus.findMany({ where: { setId: set.id }, select: { sha256: true } })).map((s) => s.sha256);
    const s2 = await del("deleteStimulusSet", "setId", set.id);
    expect(s2.errors).toBeUndefined();
    expect(s2.data.deleteStimulusSet.blobsRemoved).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(await hasBlob(f)).toBe(false);

    const m2 = await del("deleteModel", "modelId", model.id);
    expect(m2.errors).toBeUndefined();
    expect(m2.data.deleteModel).toMatchObject({ id: model.id, blobsRemoved: 1 });
    expect(m2.data.deleteModel.bytesFreed).toBeGreaterThan(1000);
    expect(await hasBlob(model.sha256!)).toBe(false);
    expect(await t.gql(`query($id: ID!) { model(id: $id) { id } }`, { id: model.id }, k)).toMatchObject({ data: { model: null } });
  }, 180_000);

  it("keeps a blob another row still uses: the same file registered by another group", async () => {
    const data = Buffer.from(buildModel({ inputShape: [1, 4], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }], outputs: ["y"] })).toString("base64");
    const { groupId: g2, key: k2 } = await t.createGroupWithKey("delete-lab-2", "ADMIN");
    const reg = `mutation($i: RegisterModelInput!) { registerModel(input: $i) { id sha256 } }`;
    const mine = (await t.gql(reg, { i: { name: "relu", modality: "IMAGE", data } }, adminKey)).data.registerModel;
    const theirs = (await t.gql(reg, { i: { name: "relu", modality: "IMAGE", data } }, k2)).data.registerModel;
    expect(theirs.sha256).toBe(mine.sha256);
    const r = await t.gql(`mutation($id: ID!) { deleteModel(modelId: $id) { blobsRemoved } }`, { id: mine.id }, adminKey);
    expect(r.data.deleteModel.blobsRemoved).toBe(0);
    expect(await hasBlob(mine.sha256)).toBe(true);
    expect(g2).not.toBe(groupId);
  });
});

describe("blob sweep", () => {
  it("deletes unreferenced blobs past the grace period and expired uploads, and nothing in use", async () => {
    const orphan = await t.store.blobs.put(new TextEncoder().encode("no row uses these bytes"), "text/plain");
    const young = await t.store.blobs.put(new TextEncoder().encode("nor these, but they are new"), "text/plain");
    const model = (await registerFixtureModel(t.services, ctxOf(), "lenet-sweep", "lenet.onnx", LENET_STAGES)).model;
    // an upload whose bytes arrived but was never used, and one that never arrived, both past expiry
    const stale = await t.store.blobs.put(new TextEncoder().encode("uploaded, never used"), "application/octet-stream");
    const past = new Date(Date.now() - 1000);
    await t.store.uploads.create({ groupId, purpose: "MODEL", byteSize: 20, sha256: stale.sha256, expiresAt: past });
    await t.store.db.upload.updateMany({ where: { sha256: stale.sha256 }, data: { status: "COMPLETE", blobSha256: stale.sha256 } });
    const pending = await t.store.uploads.create({ groupId, purpose: "STIMULUS", byteSize: 5, sha256: "0".repeat(64), expiresAt: past });
    const live = await t.store.uploads.create({ groupId, purpose: "STIMULUS", byteSize: 5, sha256: "1".repeat(64), expiresAt: new Date(Date.now() + 3_600_000) });
    // Every blob of this database is past the grace period but `young`, so only references keep the others.
    await t.store.db.blob.updateMany({ where: { sha256: { not: young.sha256 } }, data: { createdAt: new Date(Date.now() - 2 * 3_600_000) } });

    const result = await t.services.blobSweep.sweep();
    expect(result.uploadsDeleted).toBe(2);
    expect(result.blobsDeleted).toBe(2);
    expect(result.bytesFreed).toBe(orphan.byteSize + stale.byteSize);
    expect(await hasBlob(orphan.sha256)).toBe(false);
    expect(await hasBlob(stale.sha256)).toBe(false);
    expect(await hasBlob(young.sha256)).toBe(true);
    expect(await hasBlob(model.sha256!)).toBe(true);
    expect(await t.store.db.upload.count({ where: { id: { in: [pending.id, live.id] } } })).toBe(1);
    // every stimulus file, tensor and metamer blob of the earlier tests is still there
    const missing = await t.store.db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM (
        SELECT "blobSha256" AS sha FROM "StimulusTensor" UNION ALL SELECT "sha256" FROM "Stimulus"
        UNION ALL SELECT "sha256" FROM "Model" WHERE "sha256" IS NOT NULL
        UNION ALL SELECT "tensorSha256" FROM "Metamer" UNION ALL SELECT "renderingSha256" FROM "Metamer") used
      WHERE NOT EXISTS (SELECT 1 FROM "Blob" b WHERE b."sha256" = used.sha)`;
    expect(Number(missing[0].n)).toBe(0);
    expect(await t.store.db.stimulusTensor.count()).toBeGreaterThan(0);
    // a second sweep finds nothing more to do
    expect(await t.services.blobSweep.sweep()).toEqual({ blobsDeleted: 0, bytesFreed: 0, uploadsDeleted: 0 });
  });
});
