// Archive, delete and tags act on the caller's own group only (issue 13): another group, even one the objects are
// shared with, cannot archive, delete or tag them, and learns nothing it could not already read. Within the group,
// archive and tags need MEMBER, delete needs ADMIN.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel } from "../engine/build-model.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: { groupId: string; key: string };
let ownerReader: string;
let ownerMember: string;
let other: string;
const ids: { model: string; set: string } = { model: "", set: "" };

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.createGroupWithKey("owner-lab", "ADMIN");
  const ctx = { groupId: owner.groupId, role: "ADMIN" as const, apiKeyId: "test" };
  ownerReader = (await t.services.auth.createApiKey(ctx, "reader", "READER")).key;
  ownerMember = (await t.services.auth.createApiKey(ctx, "member", "MEMBER")).key;
  other = (await t.createGroupWithKey("other-lab", "ADMIN")).key;
  const data = Buffer.from(buildModel({ inputShape: [1, 3, 4, 4], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }], outputs: ["y"] })).toString("base64");
  const m = await t.gql(`mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }`, { i: { name: "owned", modality: "IMAGE", data } }, owner.key);
  ids.model = m.data.registerModel.id;
  const s = await t.gql(`mutation { createStimulusSet(input: { name: "owned-set", modality: IMAGE }) { id } }`, {}, owner.key);
  ids.set = s.data.createStimulusSet.id;
  // The other group can read both: sharing grants reading, never managing.
  for (const [kind, id] of [["MODEL", ids.model], ["STIMULUS_SET", ids.set]]) {
    const r = await t.gql(`mutation($i: ShareInput!) { share(input: $i) { id } }`, { i: { kind, id, target: { kind: "GROUP", group: "other-lab" } } }, owner.key);
    expect(r.errors).toBeUndefined();
  }
});
afterAll(async () => {
  await t?.close();
});

const ACTS = [
  ["archiveModel", "modelId", "model", "{ id }"],
  ["unarchiveModel", "modelId", "model", "{ id }"],
  ["deleteModel", "modelId", "model", "{ id }"],
  ["archiveStimulusSet", "setId", "set", "{ id }"],
  ["deleteStimulusSet", "setId", "set", "{ id }"],
] as const;

describe("another group", () => {
  it("sees the shared objects but cannot archive, unarchive, delete or tag them (NOT_FOUND, as if absent)", async () => {
    const seen = await t.gql(`query($m: ID!, $s: ID!) { model(id: $m) { id } stimulusSet(id: $s) { id } }`, { m: ids.model, s: ids.set }, other);
    expect(seen.data).toEqual({ model: { id: ids.model }, stimulusSet: { id: ids.set } });
    for (const [mutation, arg, which] of ACTS) {
      const r = await t.gql(`mutation($id: ID!) { ${mutation}(${arg}: $id) { __typename } }`, { id: ids[which] }, other);
      expect(r.errors?.[0].extensions?.code, mutation).toBe("NOT_FOUND");
      expect(r.errors?.[0].message, mutation).toContain("in this group");
    }
    const tag = await t.gql(`mutation($id: ID!) { setModelTags(modelId: $id, tags: ["mine"]) { id } }`, { id: ids.model }, other);
    expect(tag.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    // nothing changed
    const after = await t.gql(`query($m: ID!, $s: ID!) { model(id: $m) { tags archivedAt } stimulusSet(id: $s) { archivedAt } }`, { m: ids.model, s: ids.set }, owner.key);
    expect(after.data).toEqual({ model: { tags: [], archivedAt: null }, stimulusSet: { archivedAt: null } });
  });
});

describe("roles in the owner group", () => {
  it("a READER cannot archive or tag; a MEMBER can archive and tag but not delete; an ADMIN deletes", async () => {
    const readerArchive = await t.gql(`mutation($id: ID!) { archiveModel(modelId: $id) { id } }`, { id: ids.model }, ownerReader);
    expect(readerArchive.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    const readerTag = await t.gql(`mutation($id: ID!) { setModelTags(modelId: $id, tags: ["x"]) { id } }`, { id: ids.model }, ownerReader);
    expect(readerTag.errors?.[0].extensions?.code).toBe("FORBIDDEN");

    const memberArchive = await t.gql(`mutation($id: ID!) { archiveStimulusSet(setId: $id) { archivedAt } }`, { id: ids.set }, ownerMember);
    expect(memberArchive.data.archiveStimulusSet.archivedAt).not.toBeNull();
    const memberTag = await t.gql(`mutation($id: ID!) { setModelTags(modelId: $id, tags: ["x"]) { tags } }`, { id: ids.model }, ownerMember);
    expect(memberTag.data.setModelTags.tags).toEqual(["x"]);
    const memberDelete = await t.gql(`mutation($id: ID!) { deleteStimulusSet(setId: $id) { id } }`, { id: ids.set }, ownerMember);
    expect(memberDelete.errors?.[0].extensions?.code).toBe("FORBIDDEN");

    // shared: the share references the set, so even the ADMIN must revoke it first
    const shared = await t.gql(`mutation($id: ID!) { deleteStimulusSet(setId: $id) { id } }`, { id: ids.set }, owner.key);
    expect(shared.errors?.[0].extensions?.code).toBe("CONFLICT");
    expect(shared.errors?.[0].message).toMatch(/1 share use stimulus set 'owned-set'/);
  });
});
