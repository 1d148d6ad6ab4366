import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importCommand } from "../../src/cli/study-commands.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const paperData = path.join(path.resolve(repoRoot, "../shared"), "paper-data");

describe("metamers import feather2023", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const run = async (argv: string[]) => {
    let text = "";
    await importCommand(argv, { openStore: async () => ({ store: db.store, close: async () => {} }), out: { write: (t: string) => (text += t) } });
    return JSON.parse(text);
  };

  it("imports into the named group and is idempotent", async () => {
    const first = await run(["feather2023", paperData, "--group", "cli-lab"]);
    expect(first).toMatchObject({ group: "cli-lab", created: true, models: 48, humanScoresInserted: 21302, crossModelResultsInserted: 5808 });
    const second = await run(["feather2023", paperData, "--group", "cli-lab"]);
    expect(second).toMatchObject({ groupId: first.groupId, created: false, humanScoresInserted: 0, crossModelResultsInserted: 0 });
  });

  it("explains bad arguments", async () => {
    await expect(run(["feather2024", paperData, "--group", "x"])).rejects.toThrow(/expected the study name 'feather2023', got 'feather2024'/);
    await expect(run(["feather2023", "--group", "x"])).rejects.toThrow(/expected the data folder, got nothing/);
    await expect(run(["feather2023", paperData])).rejects.toThrow(/--group <name> is required/);
    await expect(run(["feather2023", "/nonexistent", "--group", "x"])).rejects.toThrow(/expected human_recognizability.csv in \/nonexistent: ENOENT/);
  });
});
