// `metamers stimuli add` shows upload progress on stderr (issue 13 item 5): run as a user runs it, through
// bin/metamers.js against a real test server, with stderr a pipe (not a terminal), so it prints a few lines.
import { execFile } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBytes } from "../../src/cli/progress.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { fixtureFloat32, imageVariants, LENET_STAGES, registerFixtureModel, repoRoot } from "../helpers/synthesis-fixtures.js";

let t: TestApp;
let key: string;
let modelId: string;
let setId: string;

beforeAll(async () => {
  t = await startTestApp();
  const issued = await t.createGroupWithKey("upload-lab", "MEMBER");
  key = issued.key;
  const ctx = { groupId: issued.groupId, role: "MEMBER" as const, apiKeyId: "test" };
  modelId = (await registerFixtureModel(t.services, ctx, "lenet", "lenet.onnx", LENET_STAGES)).model.id;
  setId = (await t.services.stimuli.createSet(ctx, { name: "uploads", modality: "IMAGE", classLabels: ["a"] })).id;
});
afterAll(async () => {
  await t?.close();
});

describe("upload progress", () => {
  it("`stimuli add` reports files and bytes sent on stderr, a few lines when stderr is not a terminal", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "upload-"));
    const files = (await imageVariants(fixtureFloat32("lenet.x_nat.f32"), [1, 1, 28, 28], 3)).map((png, i) => {
      const file = path.join(dir, `s${i}.png`);
      writeFileSync(file, Buffer.from(png, "base64"));
      return file;
    });
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        [path.join(repoRoot, "bin/metamers.js"), "stimuli", "add", setId, ...files, "--label", "a", "--model", modelId],
        { cwd: dir, env: { ...process.env, METAMERS_URL: t.url, METAMERS_API_KEY: key }, timeout: 120_000 },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stdout: out, stderr: err })),
      ),
    );
    expect(stdout).toMatch(/added 3 stimulus file\(s\)/);
    const lines = stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(6);
    for (const l of lines) expect(l).toMatch(/^upload \[[#-]{30}\] [0-3]\/3 files, \d+(\.\d)? (B|KiB) \/ \d+(\.\d)? (B|KiB)$/);
    expect(lines.at(-1)).toBe(`upload [${"#".repeat(30)}] 3/3 files, ${formatBytes(total)} / ${formatBytes(total)}`);
  }, 180_000);
});
