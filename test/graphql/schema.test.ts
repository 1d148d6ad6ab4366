import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { printAppSchema, schemaFile } from "../../src/graphql/print-schema.js";

describe("schema.graphql", () => {
  it("equals the schema the code builds (run `npm run schema:print` after changing types or resolvers)", async () => {
    const committed = await readFile(schemaFile, "utf8");
    expect(committed).toBe(await printAppSchema());
  });

  it("holds the contract names of the API", async () => {
    const sdl = await printAppSchema();
    for (const field of [
      "health: Health!",
      "registerModel(input: RegisterModelInput!): Model!",
      "model(id: ID!): Model",
      "createUpload(input: CreateUploadInput!): UploadTicket!",
      "createStimulusSet(input: CreateStimulusSetInput!): StimulusSet!",
      "addStimuli(input: AddStimuliInput!): [Stimulus!]!",
      "stimulusSet(id: ID!): StimulusSet",
    ]) {
      expect(sdl).toContain(field);
    }
    expect(sdl).toMatch(/type ModelConnection \{\s+edges: \[ModelEdge!\]!\s+pageInfo: PageInfo!\s+totalCount: Int!/);
  });
});
