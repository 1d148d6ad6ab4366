// What a share exposes is exact (issue 15, item 2): a shared batch brings its metamers, certificates and recognition
// results, not the owner's other batches on the same model; its generator is visible as that batch's generator (name
// and layers, not its ONNX file); a recognizer of group B may classify A's shared metamers, and those results are B's.
// Also the share API's checks: only the owner's MEMBERs share, targets must exist, sharing twice is one share.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSORTIUM, createSharingWorld, get, type SharingWorld } from "./fixture.js";

let w: SharingWorld;
let recognizerB: string;

beforeAll(async () => {
  w = await createSharingWorld();
  // Lab B's own recognizer: same modality, input shape and labels as A's generator, with an ONNX file.
  const onnx = await w.t.store.blobs.put(new TextEncoder().encode("lab-b recognizer"), "application/onnx");
  await w.t.store.groups.grantBlob(w.b.groupId, onnx.sha256);
  recognizerB = (
    await w.t.store.models.create(
      {
        groupId: w.b.groupId, name: "recognizer-b", modality: "IMAGE", sha256: onnx.sha256, byteSize: 16, opset: 17, inputName: "x", inputShape: [1, 1, 4, 4],
        inputRange: [0, 1], sampleRate: null, outputName: "logits", classLabels: ["a", "b"], training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
      },
      [{ name: "fc", label: null, shape: [1, 2], producerOp: "Gemm", order: 0, differentiable: true, unsupportedOps: [] }],
    )
  ).id;
});
afterAll(async () => {
  await w?.close();
});

const gql = (query: string, variables: Record<string, unknown>, key: string) => w.t.gql(query, variables, key);
const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

async function shareBatchWithB(): Promise<string> {
  const res = await gql(`mutation($i: ShareInput!) { share(input: $i) { id state target { kind groupName } } }`, { i: { kind: "SYNTHESIS_BATCH", id: w.batch.id, target: { kind: "GROUP", group: "lab-b" } } }, w.a.member);
  expect(res.data.share).toMatchObject({ state: "ACTIVE", target: { kind: "GROUP", groupName: "lab-b" } });
  return res.data.share.id;
}

const curveN = async (key: string, observer: string, recognizerId?: string) => {
  const res = await gql(
    `query($id: ID!, $o: RecognitionObserver!, $r: ID) { recognizabilityCurve(modelId: $id, observer: $o, recognizerId: $r, poolConfigurations: true) { stage n } }`,
    { id: w.batch.generatorId, o: observer, r: recognizerId ?? null },
    key,
  );
  if (res.errors) return code(res);
  return res.data.recognizabilityCurve.find((p: { stage: string }) => p.stage === "fc")?.n ?? 0;
};

describe("a shared batch", () => {
  it("exposes its metamers and their results, not the owner's other batch on the same generator, nor the generator's file", async () => {
    const shareId = await shareBatchWithB();
    try {
      const [m1] = w.batch.metamerIds;
      const seen = await gql(`query($id: ID!) { metamer(id: $id) { id certificate model { id name layers { name } } } }`, { id: m1 }, w.b.reader);
      expect(seen.data.metamer).toMatchObject({ id: m1, certificate: { passed: true }, model: { id: w.batch.generatorId, name: "generator-g", layers: [{ name: "conv" }, { name: "fc" }] } });
      expect((await gql(`query($id: ID!) { metamer(id: $id) { id } }`, { id: w.batch.privateMetamerId }, w.b.reader)).data.metamer).toBeNull();
      expect((await gql(`query($id: ID!) { synthesisBatch(id: $id) { id } }`, { id: w.batch.privateBatchId }, w.b.reader)).data.synthesisBatch).toBeNull();

      // The generator is there as the batch's generator: its ONNX file is not.
      expect((await get(`${w.t.url}/blobs/${w.batch.generatorSha256}`, w.b.reader)).status).toBe(404);
      expect((await get(`${w.t.url}/blobs/${w.batch.generatorSha256}`, w.a.reader)).status).toBe(200);

      // Aggregates count the shared batch's 2 metamers for B, all 3 for the owner.
      expect(await curveN(w.b.reader, "GENERATOR")).toBe(2);
      expect(await curveN(w.a.reader, "GENERATOR")).toBe(3);
      const matrix = `query($id: ID!) { crossModelMatrix(generatorIds: [$id], recognizerIds: [$id], poolConfigurations: true) { n accuracy } }`;
      expect((await gql(matrix, { id: w.batch.generatorId }, w.b.reader)).data.crossModelMatrix).toEqual([{ n: 2, accuracy: 0.5 }]);
      expect((await gql(matrix, { id: w.batch.generatorId }, w.a.reader)).data.crossModelMatrix).toEqual([{ n: 3, accuracy: 2 / 3 }]);
      const trials = async (key: string) => (await get(`${w.t.url}/export/model-trials.csv?generatorId=${w.batch.generatorId}`, key)).text.trim().split("\n").slice(1);
      const bTrials = await trials(w.b.reader);
      expect(bTrials).toHaveLength(2);
      expect(bTrials.every((line) => w.batch.metamerIds.some((id) => line.includes(id)))).toBe(true);
      expect(await trials(w.a.reader)).toHaveLength(3);
    } finally {
      await gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: shareId }, w.a.member);
    }
  });

  it("lets group B's recognizer classify A's shared metamers (only those), and the results are B's", async () => {
    const before = await w.t.store.recognition.unrecognizedFor(recognizerB);
    expect(before.metamerIds).toEqual([]);

    const shareId = await shareBatchWithB();
    // The share scheduled the work at once: a RECOGNITION job of B's recognizer, in B's group, on the shared metamers.
    const jobs = await w.t.store.db.job.findMany({ where: { kind: "RECOGNITION", modelId: recognizerB } });
    expect(jobs.map((j) => j.groupId)).toEqual([w.b.groupId]);
    expect(((jobs[0].payload as { metamerIds: string[] }).metamerIds).sort()).toEqual([...w.batch.metamerIds].sort());
    const eligible = await w.t.store.recognition.unrecognizedFor(recognizerB);
    expect(eligible.metamerIds.sort()).toEqual([...w.batch.metamerIds].sort());
    const forNew = await w.t.store.recognition.recognizersForMetamers([...w.batch.metamerIds, w.batch.privateMetamerId]);
    const forB = forNew.find((r) => r.recognizerId === recognizerB)!;
    expect(forB.metamerIds.sort()).toEqual([...w.batch.metamerIds].sort());
    // the work (a RECOGNITION job) is B's, as its results are
    expect(forB.groupId).toBe(w.b.groupId);

    // B's recognizer classified them: B sees its results on A's metamers; A does not see B's private recognizer.
    await w.t.store.recognition.insert(w.batch.metamerIds.map((id) => ({ recognizerId: recognizerB, metamerId: id, stimulusId: null, predictedLabel: "a", correct: true })));
    expect(await curveN(w.b.reader, "MODEL", recognizerB)).toBe(2);
    expect(await curveN(w.a.reader, "MODEL", recognizerB)).toBe("NOT_FOUND");
    expect(await curveN(w.a.reader, "OTHER_MODELS")).toBe(0);
    expect(await curveN(w.b.reader, "OTHER_MODELS")).toBe(1);
    const aTrials = (await get(`${w.t.url}/export/model-trials.csv?generatorId=${w.batch.generatorId}`, w.a.reader)).text;
    expect(aTrials).not.toContain(recognizerB);

    await gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: shareId }, w.a.member);
    // Revoked: the metamers and B's results on them are gone from B's view, and B's recognizer gets no new ones.
    expect(await curveN(w.b.reader, "MODEL", recognizerB)).toBe("NOT_FOUND");
    const recognizers = await w.t.store.recognition.recognizersForMetamers(w.batch.metamerIds);
    expect(recognizers.map((r) => r.recognizerId)).not.toContain(recognizerB);
  });
});

describe("the share API", () => {
  const share = (i: Record<string, unknown>, key: string) => gql(`mutation($i: ShareInput!) { share(input: $i) { id state embargoUntil } }`, { i }, key);

  it("shares only the owner's objects, with MEMBER or more, to targets that exist", async () => {
    const model = { kind: "MODEL", id: w.model.id };
    const readerTry = await share({ ...model, target: { kind: "HUB" } }, w.a.reader);
    expect(code(readerTry)).toBe("FORBIDDEN");
    const otherGroup = await share({ ...model, target: { kind: "HUB" } }, w.b.admin);
    expect(code(otherGroup)).toBe("NOT_FOUND");
    expect(otherGroup.errors![0].message).toBe(`id: no model '${w.model.id}' in this group (only the owner group shares an object)`);
    const noGroup = await share({ ...model, target: { kind: "GROUP", group: "lab-nobody" } }, w.a.member);
    expect(code(noGroup)).toBe("NOT_FOUND");
    expect(noGroup.errors![0].message).toBe("target.group: no group named 'lab-nobody' on this hub");
    const self = await share({ ...model, target: { kind: "GROUP", group: "lab-a" } }, w.a.member);
    expect(code(self)).toBe("BAD_USER_INPUT");
    const noPartner = await share({ ...model, target: { kind: "PARTNER", consortiumId: CONSORTIUM } }, w.a.member);
    expect(code(noPartner)).toBe("BAD_USER_INPUT");
    expect(noPartner.errors![0].message).toMatch(/^target.partnerGroup: expected 1 to 128 letters.* got nothing/);
    const partnerTry = await share({ ...model, target: { kind: "HUB" } }, w.partnerRight);
    expect(code(partnerTry)).toBe("FORBIDDEN");
  });

  it("sharing twice with the same target is one share whose embargo changes; lists and revokes", async () => {
    const until = new Date(w.clock.now.getTime() + 3_600_000);
    const first = await share({ kind: "STIMULUS_SET", id: w.set.id, target: { kind: "GROUP", group: "lab-b" }, embargoUntil: until.toISOString() }, w.a.member);
    expect(first.data.share).toMatchObject({ state: "EMBARGOED", embargoUntil: until.toISOString() });
    const again = await share({ kind: "STIMULUS_SET", id: w.set.id, target: { kind: "GROUP", group: "lab-b" } }, w.a.member);
    expect(again.data.share).toMatchObject({ id: first.data.share.id, state: "ACTIVE", embargoUntil: null });

    const list = await gql(`query($id: ID!) { shares(id: $id) { totalCount edges { node { id objectKind state target { kind groupName } } } } }`, { id: w.set.id }, w.a.reader);
    expect(list.data.shares).toEqual({ totalCount: 1, edges: [{ node: { id: first.data.share.id, objectKind: "STIMULUS_SET", state: "ACTIVE", target: { kind: "GROUP", groupName: "lab-b" } } }] });
    expect((await gql(`{ shares { totalCount } }`, {}, w.b.reader)).data.shares.totalCount).toBe(0);

    expect(code(await gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: first.data.share.id }, w.b.admin))).toBe("NOT_FOUND");
    expect((await gql(`mutation($id: ID!) { revokeShare(id: $id) { state } }`, { id: first.data.share.id }, w.a.member)).data.revokeShare.state).toBe("REVOKED");
    expect(code(await gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: first.data.share.id }, w.a.member))).toBe("NOT_FOUND");
    const withRevoked = await gql(`query($id: ID!) { shares(id: $id, includeRevoked: true) { totalCount } }`, { id: w.set.id }, w.a.reader);
    expect(withRevoked.data.shares.totalCount).toBe(1);
  });
});
