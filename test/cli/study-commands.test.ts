// `metamers import feather2023` goes through the GraphQL API of the server the CLI resolves (--url, METAMERS_URL,
// server.json), uploads the files' contents, and writes into no other database.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliEnvironment } from "../../src/config.js";
import { runCli } from "../../src/cli/main.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { PAPER_DATA } from "../helpers/constants.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/db.js";

const paperData = PAPER_DATA;

let t: TestApp;
let other: TestDatabase;
let tmp: string;
let member: { groupId: string; key: string };
let admin: { groupId: string; key: string };
let otherAdmin: { groupId: string; key: string };
let target: { groupId: string; key: string };
let smallData: string;

beforeAll(async () => {
  t = await startTestApp();
  other = await createTestDatabase();
  // The first group of the hub: its first ADMIN key is an instance-admin key (the hub's operator).
  admin = await t.createGroupWithKey("import-admin", "ADMIN");
  member = await t.createGroupWithKey("import-lab", "MEMBER");
  otherAdmin = await t.createGroupWithKey("import-lab-admin", "ADMIN");
  target = await t.createGroupWithKey("import-target", "READER");
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-import-"));
  // A local data dir whose server.json names a server that is not there and whose database is `other`: if the CLI
  // used either instead of METAMERS_URL, the import would fail or land in `other`.
  await mkdir(path.join(tmp, "data"));
  await writeFile(path.join(tmp, "data", "server.json"), JSON.stringify({ url: "http://127.0.0.1:9" }));
  // The released files cut to their first rows: enough to tell groups apart, quick to import.
  smallData = path.join(tmp, "small");
  await mkdir(smallData);
  for (const f of ["human_recognizability.csv", "cross_model_recognition.csv"]) {
    const lines = (await readFile(path.join(paperData, f), "utf8")).split("\n");
    await writeFile(path.join(smallData, f), lines.slice(0, 41).join("\n") + "\n");
  }
});
afterAll(async () => {
  await t?.close();
  await other?.drop();
  await rm(tmp, { recursive: true, force: true });
});

/** The CLI in-process, as `METAMERS_URL=<t.url> METAMERS_API_KEY=<key> DATABASE_URL=<other> metamers ...` would run. */
async function cli(key: string, ...argv: string[]): Promise<any> {
  let text = "";
  const env: CliEnvironment = { url: t.url, apiKey: key, dataDir: path.join(tmp, "data"), externalDatabase: other.config };
  await runCli(argv, { write: (s: string) => (text += s) }, env);
  return JSON.parse(text);
}

const studies = async (key: string) => (await t.gql(`{ studies { key models humanScores crossModelResults } }`, {}, key)).data.studies;

describe("metamers import feather2023", () => {
  it("imports into the server's caller group through the API, idempotently, and nothing into any other database", async () => {
    const before = await countRows(other.store);
    const first = await cli(member.key, "import", "feather2023", paperData);
    expect(first).toMatchObject({ group: "import-lab", groupId: member.groupId, created: true, models: 48, humanScoresInserted: 21302, crossModelResultsInserted: 5808 });
    expect(await studies(member.key)).toEqual([{ key: "feather2023", models: 48, humanScores: 21302, crossModelResults: 5808 }]);

    const second = await cli(member.key, "import", "feather2023", paperData);
    expect(second).toMatchObject({ groupId: member.groupId, studyId: first.studyId, created: false, humanScoresInserted: 0, crossModelResultsInserted: 0 });
    expect(await countRows(other.store)).toEqual(before);
    expect(await studies(admin.key)).toEqual([]);
  });

  it("imports into another group only for an instance-admin key, and only into a group that exists", async () => {
    await expect(cli(member.key, "import", "feather2023", smallData, "--group", "import-target")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(/needs the ADMIN role or higher; the API key has role MEMBER/),
    });
    await expect(cli(otherAdmin.key, "import", "feather2023", smallData, "--group", "import-target")).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringMatching(/needs an instance-admin key/),
    });
    await expect(cli(admin.key, "import", "feather2023", smallData, "--group", "no-such-group")).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "group: expected the name of an existing group, got 'no-such-group'",
    });
    expect(await studies(target.key)).toEqual([]);

    const imported = await cli(admin.key, "import", "feather2023", smallData, "--group", "import-target");
    expect(imported).toMatchObject({ group: "import-target", groupId: target.groupId, created: true, humanScoresInserted: 40, crossModelResultsInserted: 40 });
    expect(await studies(target.key)).toEqual([expect.objectContaining({ key: "feather2023", humanScores: 40, crossModelResults: 40 })]);
    expect(await studies(admin.key)).toEqual([]);
  });

  it("the mutation wants both files' contents or neither", async () => {
    const res = await t.gql(`mutation($i: ImportFeather2023Input) { importFeather2023(input: $i) { studyId } }`, { i: { humanRecognizabilityCsv: "x" } }, member.key);
    expect(res.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/expected both files' contents or neither .* got only humanRecognizabilityCsv/),
      extensions: { code: "BAD_USER_INPUT" },
    });
  });

  it("explains bad arguments and bad files", async () => {
    await expect(cli(member.key, "import", "feather2024", paperData)).rejects.toThrow(/expected the study name 'feather2023', got 'feather2024'/);
    await expect(cli(member.key, "import", "feather2023")).rejects.toThrow(/expected the data folder, got nothing/);
    await expect(cli(member.key, "import", "feather2023", "/nonexistent")).rejects.toThrow(/expected human_recognizability.csv in \/nonexistent: ENOENT/);
    await expect(cli(member.key, "import", "feather2023", paperData, "--grop", "x")).rejects.toThrow(/Unknown option '--grop'/);
    const broken = path.join(tmp, "broken");
    await mkdir(broken);
    await writeFile(path.join(broken, "human_recognizability.csv"), "modality,oops\n");
    await writeFile(path.join(broken, "cross_model_recognition.csv"), "");
    // Validated by the server, which names the file and line.
    await expect(cli(member.key, "import", "feather2023", broken)).rejects.toMatchObject({
      code: "BAD_USER_INPUT",
      message: expect.stringMatching(/^human_recognizability.csv line 1: expected the header 'modality,experiment,/),
    });
  });
});
