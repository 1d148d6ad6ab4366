import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveServer, runCli } from "../../src/cli/main.js";
import { inProcessCli } from "../helpers/cli.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const repo = path.resolve(import.meta.dirname, "../..");
const fixtures = AUTODIFF_FIXTURES;

let t: TestApp;
let key: string;
let tmp: string;
beforeAll(async () => {
  t = await startTestApp();
  ({ key } = await t.createGroupWithKey("cli-lab", "MEMBER"));
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-cli-"));
});
afterAll(async () => {
  await t?.close();
  await rm(tmp, { recursive: true, force: true });
});

const { cli } = inProcessCli(() => ({ url: t.url, key, dataDir: tmp }));

describe("metamers CLI", () => {
  it("registers a model, lists it and prints its layers", async () => {
    const labels = Array.from({ length: 10 }, (_, i) => String(i)).join(",");
    const added = JSON.parse(await cli("models", "add", path.join(fixtures, "lenet.onnx"), "--name", "lenet", "--labels", labels, "--stage", "conv1=/relu1/Relu_output_0", "--json"));
    expect(added).toMatchObject({ name: "lenet", version: 1, inputShape: [1, 1, 28, 28] });

    const listed = await cli("models", "list");
    expect(listed).toMatch(new RegExp(`${added.id}\\s+lenet\\s+1\\s+IMAGE\\s+\\[1,1,28,28\\]`));

    const layers = await cli("models", "layers", added.id);
    expect(layers).toMatch(/yes\s+Relu\s+\[1,6,24,24\]\s+conv1\s+\/relu1\/Relu_output_0/);
  });

  it("creates a stimulus set and adds image files with a label", async () => {
    const set = JSON.parse(await cli("stimuli", "create-set", "--name", "greys", "--labels", "grey,black", "--json"));
    const files = [];
    for (const [i, v] of [40, 120, 200].entries()) {
      const f = path.join(tmp, `grey${i}.png`);
      await writeFile(f, await sharp({ create: { width: 30, height: 30, channels: 3, background: { r: v, g: v, b: v } } }).png().toBuffer());
      files.push(f);
    }
    const out = await cli("stimuli", "add", set.id, ...files, "--label", "grey", "--input-shape", "1,1,28,28");
    expect(out).toMatch(/added 3 stimulus file\(s\)/);
    const listed = await cli("stimuli", "list", set.id);
    expect(listed.match(/grey\s+\[1,1,28,28\]\s+grey\d\.png/g)).toHaveLength(3);
  });

  it("reports API errors with their code", async () => {
    await expect(cli("models", "layers", "00000000-0000-4000-8000-000000000000")).rejects.toThrow(/no model/);
    await expect(
      runCli(["models", "list"], { write: () => 0 }, { url: t.url, apiKey: "mhk_wrong", dataDir: tmp }),
    ).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("finds the server and key: flags, then environment, then the local data dir", async () => {
    const dataDir = path.join(tmp, "data");
    await import("node:fs/promises").then((fs) => fs.mkdir(dataDir, { recursive: true }));
    await writeFile(path.join(dataDir, "server.json"), JSON.stringify({ url: "http://127.0.0.1:4555" }));
    await writeFile(path.join(dataDir, "api-key"), "mhk_local\n");
    expect(resolveServer({ dataDir }, {})).toEqual({ url: "http://127.0.0.1:4555", key: "mhk_local" });
    expect(resolveServer({ dataDir, url: "http://h:1/graphql", apiKey: "mhk_env" }, {})).toEqual({ url: "http://h:1", key: "mhk_env" });
    expect(resolveServer({ dataDir, url: "http://h:1", apiKey: "mhk_env" }, { url: "http://f:2/", key: "mhk_flag" })).toEqual({
      url: "http://f:2",
      key: "mhk_flag",
    });
    expect(resolveServer({ dataDir: path.join(tmp, "nothing-here") }, {})).toEqual({ url: "http://127.0.0.1:4000", key: undefined });
  });

  it("prints each command's usage for --help (and -h) without reaching any server", async () => {
    // The URL named here cannot be reached (fetch refuses port 9): a command that tried would fail with UNREACHABLE.
    const help = async (...argv: string[]) => {
      let text = "";
      await runCli(argv, { write: (s: string) => (text += s) }, { url: "http://127.0.0.1:9", dataDir: tmp });
      return text;
    };
    const expected: Record<string, RegExp> = {
      health: /^usage: metamers health /,
      models: /^usage:\n  metamers models add /,
      stimuli: /^usage:\n  metamers stimuli create-set /,
      synthesize: /^usage:\n  metamers synthesize --model /,
      import: /^usage: metamers import feather2023 <dir> \[--group <name>\]/,
      layers: /^usage: metamers layers <file.onnx>/,
      grad: /^usage: metamers grad --model /,
    };
    for (const [command, usage] of Object.entries(expected)) {
      expect(await help(command, "--help"), command).toMatch(usage);
      expect(await help(command, "-h"), command).toMatch(usage);
    }
    // A subcommand's --help is the command's usage, not an attempt to run it.
    expect(await help("models", "add", "--help")).toMatch(expected.models);
    expect(await help("import", "feather2023", "--help")).toMatch(expected.import);
    for (const top of ["--help", "-h", "help"]) expect(await help(top)).toMatch(/^metamers <command> \[options\]/);
  });

  it("`metamers import --help` exits 0 through bin/metamers.js", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repo, "bin/metamers.js"), "import", "--help"], {
      cwd: tmp,
      env: { ...process.env, METAMERS_URL: "http://127.0.0.1:9" },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^usage: metamers import feather2023/);
  });

  it("runs as `metamers` through bin/metamers.js, reading the key from the environment", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(repo, "bin/metamers.js"), "models", "list", "--json"], {
      cwd: tmp, // from another folder: the loader must still find the project's tsconfig
      env: { ...process.env, METAMERS_URL: t.url, METAMERS_API_KEY: key },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout).totalCount).toBe(1);
  });
});
