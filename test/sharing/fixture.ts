// Two labs on one hub and a consortium's partner identities, for the sharing tests. Lab A owns one object of every
// shareable kind, written through the store (no synthesis run): a model M with its own batch, a stimulus set S, a
// synthesis batch B1 on a generator G that also has a private batch B2, and an imported study with a reference model.
// Partner tokens are real JWTs signed by a key whose public half the hub is configured with (as a consortium gateway
// would sign them).
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import type { Store } from "../../src/store/store.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

export const CONSORTIUM = "vision-consortium";

export interface Lab {
  groupId: string;
  admin: string;
  member: string;
  reader: string;
}

export interface SharingWorld {
  t: TestApp;
  /** The hub's clock: tests move it (embargoes, expiry); never sleep. */
  clock: { now: Date };
  a: Lab;
  b: Lab;
  /** Bearer tokens of the consortium: group `lab-b` (the one A shares with) and `lab-z`. */
  partnerRight: string;
  partnerWrong: string;
  /** A's objects */
  model: { id: string; sha256: string; metamerId: string };
  set: { id: string; stimulusId: string; sha256: string };
  batch: { id: string; jobId: string; generatorId: string; generatorSha256: string; metamerIds: string[]; metamerSha256: string; privateBatchId: string; privateMetamerId: string };
  study: { id: string; referenceModelId: string };
  close(): Promise<void>;
}

let counter = 0;
const bytes = (tag: string) => new TextEncoder().encode(`sharing-fixture:${tag}:${counter++}`);

async function grantedBlob(store: Store, groupId: string, tag: string, type: string): Promise<string> {
  const b = await store.blobs.put(bytes(tag), type);
  await store.groups.grantBlob(groupId, b.sha256);
  return b.sha256;
}

async function lab(t: TestApp, name: string): Promise<Lab> {
  const { groupId, key: admin } = await t.createGroupWithKey(name, "ADMIN");
  const key = async (role: string) => (await t.gql(`mutation { createApiKey(name: "${role}", role: ${role}) { key } }`, {}, admin)).data.createApiKey.key as string;
  return { groupId, admin, member: await key("MEMBER"), reader: await key("READER") };
}

async function model(store: Store, groupId: string, name: string, stages: string[]) {
  const sha256 = await grantedBlob(store, groupId, `onnx-${name}`, "application/onnx");
  const m = await store.models.create(
    {
      groupId, name, modality: "IMAGE", sha256, byteSize: 40, opset: 17, inputName: "x", inputShape: [1, 1, 4, 4], inputRange: [0, 1],
      sampleRate: null, outputName: "logits", classLabels: ["a", "b"], training: { regime: "STANDARD", norm: null, epsilon: null }, stageLabels: {},
    },
    stages.map((s, order) => ({ name: s, label: null, shape: [1, 4], producerOp: "Relu", order, differentiable: true, unsupportedOps: [] })),
  );
  return { id: m.id, sha256 };
}

/** A batch of `modelId` with one validated metamer per stimulus at `stage`, each classified by the generator. */
export async function batchWithMetamers(store: Store, groupId: string, modelId: string, stimuli: { id: string; label: string }[], stage: string) {
  const batch = await store.jobs.createBatch({ groupId, modelId, config: {}, seed: 0, idempotencyKey: null, configHash: "fixture" });
  const jobs = await store.jobs.enqueue(stimuli.map((s) => ({ kind: "SYNTHESIS" as const, groupId, batchId: batch.id, modelId, stimulusId: s.id, stage })));
  const metamers: { id: string; sha256: string }[] = [];
  for (const [i, s] of stimuli.entries()) {
    const sha = await grantedBlob(store, groupId, `metamer-${batch.id}-${i}`, "application/x-float32");
    const m = await store.metamers.create({
      jobId: jobs[i].id, groupId, modelId, stimulusId: s.id, stage, seed: 0, config: {}, history: [], certificate: { passed: true },
      passed: true, tensorSha256: sha, renderingSha256: sha, sha256: sha, softwareVersions: {},
    });
    metamers.push({ id: m.id, sha256: sha });
  }
  await store.recognition.insert(metamers.map((m, i) => ({ recognizerId: modelId, metamerId: m.id, stimulusId: null, predictedLabel: stimuli[i].label, correct: i % 2 === 0 })));
  return { id: batch.id, jobIds: jobs.map((j) => j.id), metamers };
}

async function stimulusSet(store: Store, groupId: string, name: string, n: number) {
  const set = await store.stimuli.createSet({ groupId, name, modality: "IMAGE", classLabels: ["a", "b"], sampleRate: null });
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({ label: i % 2 ? "b" : "a", filename: `${name}-${i}.png`, contentType: "image/png", sha256: await grantedBlob(store, groupId, `${name}-${i}`, "image/png"), tensors: [] });
  }
  return { set, stimuli: await store.stimuli.addStimuli(set, items) };
}

export async function createSharingWorld(): Promise<SharingWorld> {
  const clock = { now: new Date("2031-05-01T09:00:00Z") };
  const tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-sharing-"));
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const publicKeyFile = path.join(tmp, "consortium.pem");
  await writeFile(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  const t = await startTestApp({
    clock: () => clock.now,
    config: { consortium: { id: CONSORTIUM, issuer: CONSORTIUM, audience: "hub", publicKeyFile } },
  });
  const a = await lab(t, "lab-a");
  const b = await lab(t, "lab-b");
  const s = t.store;

  const own = await stimulusSet(s, a.groupId, "shareable-set", 2);
  const sources = await stimulusSet(s, a.groupId, "batch-sources", 3);

  const m = await model(s, a.groupId, "model-m", ["conv", "fc"]);
  const mBatch = await batchWithMetamers(s, a.groupId, m.id, sources.stimuli.slice(0, 1), "fc");

  const g = await model(s, a.groupId, "generator-g", ["conv", "fc"]);
  const b1 = await batchWithMetamers(s, a.groupId, g.id, sources.stimuli.slice(0, 2), "fc");
  const b2 = await batchWithMetamers(s, a.groupId, g.id, sources.stimuli.slice(2, 3), "fc");

  const { study } = await s.studies.ensureStudy(a.groupId, "vis-study", "A visibility study", "test fixture");
  // Two reference models, human scores of the first at three stages and the second's results on its metamers: the
  // three (model, stage) points the idiosyncrasy analysis needs.
  const stages = ["s1", "s2", "s3"];
  const refs = await s.studies.ensureReferenceModels(a.groupId, study.id, ["reference", "reference-2"].map((name) => ({ name, modality: "IMAGE" as const, stages })));
  const referenceModelId = refs.get("reference")!;
  await s.studies.insertHumanScores(study.id, ["p1", "p2", "p3"].flatMap((participant, i) =>
    stages.map((stage, k) => ({ modelId: referenceModelId, experiment: "e1", participant, stage, observer: "HUMAN" as const, proportionCorrect: 0.9 - k / 5 + i / 20 })),
  ));
  await s.studies.insertCrossModelResults(study.id, stages.map((stage, k) => ({
    recognizerId: refs.get("reference-2")!, generatorId: referenceModelId, stage, nMetamers: 4, nCorrect: 3 - k, correctByMetamer: "1110".slice(0, 3 - k).padEnd(4, "0"),
  })));

  const token = (group: string) => partnerToken(privateKey, group, clock.now);
  return {
    t,
    clock,
    a,
    b,
    partnerRight: await token("lab-b"),
    partnerWrong: await token("lab-z"),
    model: { id: m.id, sha256: m.sha256, metamerId: mBatch.metamers[0].id },
    set: { id: own.set.id, stimulusId: own.stimuli[0].id, sha256: own.stimuli[0].sha256 },
    batch: {
      id: b1.id, jobId: b1.jobIds[0], generatorId: g.id, generatorSha256: g.sha256, metamerIds: b1.metamers.map((x) => x.id), metamerSha256: b1.metamers[0].sha256,
      privateBatchId: b2.id, privateMetamerId: b2.metamers[0].id,
    },
    study: { id: study.id, referenceModelId },
    async close() {
      await t.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A consortium gateway's token for a person of `group` (valid for a year from `now`). */
export function partnerToken(key: KeyObject, group: string, now: Date): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ consortium: CONSORTIUM, group, role: "READER" })
    .setProtectedHeader({ alg: "EdDSA" })
    .setIssuer(CONSORTIUM)
    .setAudience("hub")
    .setSubject(`someone@${group}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 365 * 86_400)
    .sign(key);
}

/** GET with a bearer token; the status and body text. */
export async function get(url: string, bearer: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, text: await res.text() };
}
