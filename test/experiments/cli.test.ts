// `metamers experiments create|status|results|import` against a running test server, as a lab would use them.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import type { StoredTrial } from "../../src/services/experiments/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createExperimentFixture, type ExperimentFixture } from "./fixtures.js";

let app: TestApp;
let key: string;
let tmp: string;
let fx: ExperimentFixture;

async function cli(...argv: string[]): Promise<string> {
  let text = "";
  await runCli(argv, { write: (s: string) => (text += s) }, { url: app.url, apiKey: key, dataDir: path.join(tmp, "data") });
  return text;
}

beforeAll(async () => {
  app = await startTestApp();
  const g = await app.createGroupWithKey("lab-exp-cli", "MEMBER");
  key = g.key;
  tmp = await mkdtemp(path.join(os.tmpdir(), "metamers-experiments-"));
  fx = await createExperimentFixture(app.store, g.groupId, { stimuli: 20, extraStimuli: 44 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("metamers experiments", () => {
  it("creates an experiment, writes the links, reports status, imports answers and writes the results", async () => {
    const links = path.join(tmp, "links.csv");
    await writeFile(path.join(tmp, "consent.txt"), "I agree.");
    const created = JSON.parse(
      await cli("experiments", "create", "--name", "cli", "--set", fx.setId, "--batches", fx.batchIds.join(","), "--participants", "2", "--seed", "5",
        "--catch", "4", "--consent", path.join(tmp, "consent.txt"), "--completion-url", "https://app.prolific.com/submissions/complete?cc=ABC", "--links", links),
    );
    expect(created).toMatchObject({ name: "cli", modality: "IMAGE", mainTrials: 20, links: 2, linksFile: links });
    expect(created.conditions).toHaveLength(5);
    const lines = (await readFile(links, "utf8")).trim().split("\n");
    expect(lines[0]).toBe("participant,url");
    expect(lines[1]).toMatch(new RegExp(`^p1,${app.url}/experiments/${created.id}/run\\?token=[A-Za-z0-9_-]{43}$`));
    expect((await stat(links)).mode & 0o777).toBe(0o600);

    const start = JSON.parse(await cli("experiments", "status", created.id));
    expect(start.statusCounts).toEqual({ pending: 2, started: 0, completed: 0, excluded: 0 });

    // p1's answers as a jsPsych JSON export, every one right.
    const trials = (await app.store.experiments.participants(created.id))[0].trials as StoredTrial[];
    const data = path.join(tmp, "p1.json");
    await writeFile(data, JSON.stringify(trials.map((t) => ({ participant: "p1", trialIndex: t.index, response: t.correctLabel, rt: 432 }))));
    expect(JSON.parse(await cli("experiments", "import", created.id, data))).toEqual({ participants: 1, responses: trials.length, completed: 1, excluded: 0, skippedRows: 0 });
    const after = JSON.parse(await cli("experiments", "status", created.id));
    expect(after.statusCounts).toEqual({ pending: 1, started: 0, completed: 1, excluded: 0 });
    expect(after.participants[0]).toMatchObject({ label: "p1", status: "COMPLETED", answered: trials.length });

    const out = path.join(tmp, "results");
    const r = JSON.parse(await cli("experiments", "results", created.id, "--out", out));
    expect(r).toMatchObject({ experimentId: created.id, trialRows: trials.length, aggregateRows: 2 * 5 });
    const aggregate = await readFile(path.join(out, "aggregate.csv"), "utf8");
    expect(aggregate.split("\n").filter((l) => l.startsWith("p1,COMPLETED,")).every((l) => l.endsWith(",1"))).toBe(true);
    expect((await readFile(path.join(out, "trials.csv"), "utf8")).split("\n")[1]).toMatch(/^p1,COMPLETED,0,practice,/);
  });

  it("says what is wrong with its arguments", async () => {
    await expect(cli("experiments", "create", "--name", "x")).rejects.toThrow(/--set is required/);
    await expect(cli("experiments", "frobnicate")).rejects.toThrow(/expected create, status, results, import or close, got 'frobnicate'/);
    await expect(cli("experiments", "import", fx.setId, "x.csv", "--format", "excel")).rejects.toThrow(/--format: expected one of jspsych-json, jspsych-csv, psychojs-csv, got 'excel'/);
    await expect(cli("experiments", "import", fx.setId, "x.csv", "--column", "colour=x")).rejects.toThrow(/--column: expected <field>=<column name>/);
    expect(await cli("experiments", "--help")).toMatch(/^usage: metamers experiments/);
  });
});
