// `--help` on every command and subcommand (usage, no server contacted) and `--json` on every command (one JSON value
// on stdout, parsed here), plus `models tag|archive`, against a real test server.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";
import { fixtureFloat32, imageVariants } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let adminKey: string;
let tmp: string;

beforeAll(async () => {
  t = await startTestApp();
  // The hub's first group: its ADMIN key is an instance admin (groups list, keys list).
  ({ key: adminKey } = await t.createGroupWithKey("cli-json-admin", "ADMIN"));
  ({ key } = await t.createGroupWithKey("cli-json", "MEMBER"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-cli-json-"));
}, 300_000);
afterAll(async () => {
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

async function run(apiKey: string | undefined, url: string, argv: string[]): Promise<string> {
  let text = "";
  await runCli(argv, { write: (s: string) => (text += s) }, { url, apiKey, dataDir: tmp });
  return text;
}
const cli = (...argv: string[]) => run(key, t.url, argv);
/** The command's stdout with --json, which must be exactly one JSON value. */
const json = async (...argv: string[]) => JSON.parse(await cli(...argv, "--json"));

// Every server command and its subcommands: `<command> [<sub>] --help` prints the command's usage.
const COMMANDS: Record<string, string[]> = {
  health: [],
  models: ["add", "list", "layers", "tag", "archive"],
  stimuli: ["create-set", "add", "list", "sets"],
  synthesize: [],
  import: ["feather2023"],
  groups: ["create", "list"],
  keys: ["create", "list", "revoke"],
  experiments: ["create", "status", "results", "import", "close"],
  batches: ["list", "show", "cancel", "retry", "archive"],
  metamers: ["list", "get"],
  results: ["curve", "matrix", "idiosyncrasy"],
  export: ["recognizability-curve"],
};

describe("--help", () => {
  it("every command and subcommand prints its usage without reaching a server", async () => {
    // Port 9 cannot be reached: a command that tried would fail with UNREACHABLE instead of printing its usage.
    const help = (...argv: string[]) => run(undefined, "http://127.0.0.1:9", argv);
    for (const [command, subs] of Object.entries(COMMANDS)) {
      const usage = await help(command, "--help");
      expect(usage, command).toMatch(/^usage/);
      expect(usage, command).toContain(`metamers ${command}`);
      for (const sub of subs) {
        expect(await help(command, sub, "--help"), `${command} ${sub}`).toBe(usage);
        expect(await help(command, sub, "-h"), `${command} ${sub}`).toBe(usage);
        if (command !== "export") expect(usage, `${command} ${sub}`).toContain(sub);
      }
    }
    expect(await help("layers", "--help")).toMatch(/^usage: metamers layers <file.onnx> \[--json\]/);
    expect(await help("grad", "--help")).toMatch(/^usage: metamers grad .*--json/);
    const top = await help("--help");
    for (const command of [...Object.keys(COMMANDS), "layers", "grad"]) expect(top, command).toMatch(new RegExp(`\\n  ${command}\\b`));
    expect(top).toMatch(/Exit codes: 0 done, 2 usage error .*\n3 server unreachable or server error, 4 jobs waited for failed or were cancelled/);
  });
});

describe("--json", () => {
  it("every command prints one JSON value on stdout", async () => {
    expect(await json("health")).toMatchObject({ ok: true });
    const labels = Array.from({ length: 10 }, (_, i) => `class${i}`).join(",");
    const model = await json("models", "add", path.join(AUTODIFF_FIXTURES, "lenet.onnx"), "--name", "lenet", "--labels", labels, "--stage", "relu1=/relu1/Relu_output_0");
    expect(model).toMatchObject({ name: "lenet", version: 1 });
    expect((await json("models", "list")).totalCount).toBe(1);
    expect((await json("models", "layers", model.id)).some((l: { label: string | null }) => l.label === "relu1")).toBe(true);

    const set = await json("stimuli", "create-set", "--name", "digits", "--labels", labels);
    const file = path.join(tmp, "digit.png");
    const [png] = await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 1);
    await writeFile(file, Buffer.from(png, "base64"));
    const added = await json("stimuli", "add", set.id, file, "--label", "class7", "--model", model.id);
    expect(added).toHaveLength(1);
    expect((await json("stimuli", "list", set.id)).stimuli.totalCount).toBe(1);
    expect((await json("stimuli", "sets")).edges).toHaveLength(1);

    const queued = await json("synthesize", "--model", model.id, "--stages", "relu1", "--stimuli", added[0].id, "--rounds", "1", "--steps", "2");
    expect(queued).toMatchObject({ batchId: expect.any(String), jobs: 1 });
    expect((await json("batches", "list")).batches.map((b: { id: string }) => b.id)).toEqual([queued.batchId]);
    expect((await json("batches", "show", queued.batchId)).counts.queued).toBe(1);
    expect((await json("batches", "cancel", queued.batchId)).counts.cancelled).toBe(1);
    expect(await json("metamers", "list", "--batch", queued.batchId)).toMatchObject({ totalCount: 0, metamers: [] });
    expect(await json("results", "curve", "--model", model.id)).toEqual(expect.any(Array));
    expect(await json("results", "matrix", "--generators", model.id)).toEqual([]);
    expect((await json("export")).length).toBeGreaterThanOrEqual(5);

    const layers = await json("layers", path.join(AUTODIFF_FIXTURES, "lenet.onnx"));
    expect(layers.summary.inputShape).toEqual([1, 1, 28, 28]);
    expect(layers.layers.length).toBeGreaterThan(5);
    const x0 = path.join(AUTODIFF_FIXTURES, "lenet.x0.f32");
    const natural = path.join(AUTODIFF_FIXTURES, "lenet.x_nat.f32");
    const grad = await json("grad", "--model", path.join(AUTODIFF_FIXTURES, "lenet.onnx"), "--stage", "/relu1/Relu_output_0", "--input", x0, "--natural", natural, "--out", path.join(tmp, "g.f32"));
    expect(grad).toMatchObject({ inputShape: [1, 1, 28, 28], stage: "/relu1/Relu_output_0", values: 784 });
    expect(grad.loss).toBeGreaterThan(0);

    expect(await run(adminKey, t.url, ["groups", "list", "--json"]).then(JSON.parse)).toEqual(expect.arrayContaining([expect.objectContaining({ name: "cli-json" })]));
    expect((await run(adminKey, t.url, ["keys", "list", "--json"]).then(JSON.parse)).length).toBe(1);
    // Commands that always print JSON accept --json: the error is the server's, not an unknown option.
    await expect(json("experiments", "status", "00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(json("import", "feather2023", path.join(tmp, "nothing"))).rejects.toThrow(/expected human_recognizability.csv in/);
  }, 300_000);
});

describe("metamers models tag|archive", () => {
  it("replaces a model's tags and finds models by tag", async () => {
    const { edges } = await json("models", "list");
    const id = edges[0].node.id;
    expect(await json("models", "tag", id, "digits,small")).toMatchObject({ id, tags: ["digits", "small"] });
    expect(await cli("models", "tag", id, "digits", "mnist")).toMatch(/^lenet v1 \(.*\) tags: digits, mnist\n$/);
    expect((await json("models", "list", "--tag", "mnist")).totalCount).toBe(1);
    expect((await json("models", "list", "--tag", "small")).totalCount).toBe(0);
    await expect(cli("models", "tag", id, "Not A Tag")).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    await expect(cli("models", "tag", id)).rejects.toThrow(/expected tags \(a,b,c\) or --clear, got neither/);
    expect(await json("models", "tag", id, "--clear")).toMatchObject({ tags: [] });
  }, 300_000);

  it("archives a model: hidden from lists, listed with --archived", async () => {
    const id = (await json("models", "list")).edges[0].node.id;
    const archived = await json("models", "archive", id);
    expect(archived.archivedAt).not.toBeNull();
    expect((await json("models", "list")).totalCount).toBe(0);
    expect((await json("models", "list", "--archived")).totalCount).toBe(1);
    expect(await cli("models", "archive", id, "--undo")).toMatch(/^listed lenet v1 \(.*\) again\n$/);
    expect((await json("models", "list")).totalCount).toBe(1);
    await expect(cli("models", "archive")).rejects.toThrow(/expected one model id, got 0 argument/);
  }, 300_000);
});
