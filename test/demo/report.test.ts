// The demo's HTML report, rendered from a small generated result and opened in real headless Chromium.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateFindings } from "../../src/demo/findings.js";
import { formatSummary, renderReport } from "../../src/demo/report.js";
import type { CurvePoint, DemoModelResult, DemoResult, PairedComparison, PairedTestSummary, TrainingRegime } from "../../src/demo/result.js";
import { SeededRandom } from "../../src/engine/random.js";

const CHROMIUM = "/usr/bin/chromium";

/** A distinct 28x28 grey PNG per (seed), so every image in the grid is a real, decodable picture. */
async function noisePng(seed: number): Promise<string> {
  const rng = new SeededRandom(seed);
  const pixels = Buffer.alloc(28 * 28);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.nextInt(256);
  const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  return png.toString("base64");
}

function curve(stages: string[], values: number[], n = [10, 10, 10]): CurvePoint[] {
  return stages.map((stage, i) => ({ stage, mean: values[i], low: values[i] - 0.05, high: values[i] + 0.05, n: n[i] }));
}

const test = (estimate: number, low: number, high: number, p: number, n = 40): PairedTestSummary => ({ n, estimate, low, high, p, exact: false, permutations: 10_000 });

/** The comparisons a run of these four models makes (paired.ts), with made-up test outcomes. */
function comparisons(adversarial: PairedTestSummary, control: PairedTestSummary): PairedComparison[] {
  const drop = (model: string, t: PairedTestSummary): PairedComparison => ({
    kind: "FIRST_VS_FINAL", a: { model, stage: "conv1_relu" }, b: { model, stage: "final" }, recognizers: ["others"], test: t,
  });
  const matched = (model: string, t: PairedTestSummary): PairedComparison => ({
    kind: "MATCHED", a: { model, stage: "final" }, b: { model: "resnet", stage: "final" }, recognizers: ["lenet"], test: t,
  });
  return [drop("lenet", test(0.8, 0.7, 0.9, 1e-4)), drop("resnet", test(0.79, 0.7, 0.88, 1e-4)), matched("resnet_l2adv", adversarial), matched("resnet_rand", control)];
}

async function makeResult(): Promise<{ result: DemoResult; models: number; stages: number; digits: number }> {
  const digitLabels = ["0", "1", "2", "3"];
  const stages = ["conv1_relu", "layer1", "final"];
  const specs: [string, TrainingRegime, number[]][] = [
    ["lenet", "STANDARD", [0.95, 0.6, 0.15]],
    ["resnet", "STANDARD", [0.9, 0.5, 0.11]],
    ["resnet_l2adv", "ADVERSARIAL", [0.95, 0.85, 0.7]],
    ["resnet_rand", "RANDOM_PERTURBATION", [0.93, 0.55, 0.14]],
  ];
  let seed = 1;
  const digits = await Promise.all(digitLabels.map(async (label) => ({ label, png: await noisePng(seed++) })));
  const models: DemoModelResult[] = [];
  for (const [name, regime, others] of specs) {
    const metamers = [];
    for (const stage of stages) {
      for (let d = 0; d < digits.length; d++) {
        metamers.push({ stage, digit: d, png: await noisePng(seed++), passed: d !== 3 });
      }
    }
    models.push({
      name,
      description: `${name} <test & "escaping">`,
      regime,
      epsilon: regime === "STANDARD" ? null : 2,
      cleanAccuracy: 0.98,
      robustAccuracy: regime === "ADVERSARIAL" ? 0.7 : 0.01,
      stages,
      generatorCurve: curve(stages, [1, 1, 0.98]),
      // resnet_rand's layer1 point rests on 3 validated metamers: flagged.
      otherModelsCurve: curve(stages, others, name === "resnet_rand" ? [10, 3, 10] : [10, 10, 10]),
      validation: stages.map((stage) => ({ stage, passed: 3, total: 4 })),
      metamers,
    });
  }
  const names = specs.map((s) => s[0]);
  const paired = comparisons(test(0.55, 0.45, 0.65, 1e-4), test(0.01, -0.08, 0.1, 0.8));
  const result: DemoResult = {
    title: "Metamer Hub demo (test)",
    createdAt: "2026-01-01T00:00:00Z",
    serviceUrl: "http://127.0.0.1:4000",
    schedule: { rounds: 8, stepsPerRound: 150 },
    elapsedSeconds: 12,
    classLabels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    digits,
    models,
    crossModel: {
      stage: "final",
      generators: names,
      recognizers: names,
      values: names.map((_, i) => names.map((__, j) => (i === j ? 1 : 0.1 * (i + j)))),
      n: names.map(() => names.map(() => 4)),
    },
    comparisons: paired,
    findings: evaluateFindings(models, paired),
  };
  return { result, models: specs.length, stages: stages.length, digits: digits.length };
}

describe("demo report in headless chromium", () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`expected Debian's chromium at ${CHROMIUM} (apt-get install -y chromium), found nothing there`);
    }
    dir = mkdtempSync(path.join(tmpdir(), "demo-report-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows one loaded image per model x stage x digit, the curves and the heat map, with no network", async () => {
    const { result, models, stages, digits } = await makeResult();
    const file = path.join(dir, "demo-report.html");
    writeFileSync(file, renderReport(result));
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    const metamers = page.locator("table.grid img.metamer");
    expect(await metamers.count()).toBe(models * stages * digits);
    // Each (model, stage, digit) appears exactly once.
    const keys = await metamers.evaluateAll((imgs) =>
      imgs.map((i) => `${i.getAttribute("data-model")}/${i.getAttribute("data-stage")}/${i.getAttribute("data-digit")}`),
    );
    expect(new Set(keys).size).toBe(models * stages * digits);
    // Every image decoded: 28x28 pixels, shown at its CSS size.
    const sizes = await page.locator("table.grid img").evaluateAll((imgs) =>
      // Runs in the page: `naturalWidth` is an HTMLImageElement property (no DOM types in this tsconfig).
      imgs.map((i) => [(i as unknown as { naturalWidth: number }).naturalWidth, (i as unknown as { naturalHeight: number }).naturalHeight]),
    );
    expect(sizes.length).toBe(models * (stages + 1) * digits);
    expect(sizes.every(([w, h]) => w === 28 && h === 28)).toBe(true);
    expect(await page.locator("img.metamer.failed").count()).toBe(models * stages); // digit 3 failed everywhere
    expect(await page.locator("svg.curve").count()).toBe(models);
    expect(await page.locator("svg.curve path.curve-others").count()).toBe(models);
    expect(await page.locator("svg.heatmap rect.heat-cell").count()).toBe(models * models);
    expect(await page.locator("li.holds").count()).toBe(result.findings.filter((f) => f.holds).length);
    // n beside every curve point; the point on 3 metamers flagged.
    expect(await page.locator("table.curve-points").count()).toBe(models);
    expect(await page.locator("table.curve-points td.n").count()).toBe(models * stages);
    expect(await page.locator("tr.small-n td.n").allTextContents()).toEqual(["n=3 ⚠"]);
    expect(await page.locator('table.curve-points[data-model="resnet_rand"] tr.small-n th').textContent()).toBe("layer1");
    expect(await page.locator("table.comparisons tr").count()).toBe(1 + result.comparisons.length);
    expect(await page.content()).toContain("&lt;test &amp; \"escaping\"&gt;");
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.subarray(1, 4).toString()).toBe("PNG");
    const { width, height } = await sharp(shot).metadata();
    expect(width).toBe(1400);
    expect(height).toBeGreaterThan(900);
    expect(requests).toEqual([]);
    await page.close();
  });
});

describe("demo findings and summary", () => {
  it("decides each finding by its paired test, never by the point estimate", async () => {
    const { result } = await makeResult();
    // Drops p = 1e-4 and positive: held. l2adv - resnet +0.55, p = 1e-4: held. rand - resnet CI upper 0.10 < 0.2: held.
    expect(result.findings.map((f) => f.holds)).toEqual([true, true, true, true]);
    expect(result.findings[2].detail).toBe("resnet_l2adv - resnet: +0.55 [0.45, 0.65], p = 1.0e-4, n = 40 digits; judged by lenet");
    expect(result.findings[2].test).toEqual(result.comparisons[2].test);
    // The case: the matched margin +0.17 looks like an advantage but its test does not support it.
    const notSignificant = evaluateFindings(result.models, comparisons(test(0.17, -0.05, 0.4, 0.12), test(0.01, -0.08, 0.1, 0.8)));
    expect(notSignificant[2].holds).toBe(false);
    // Significant but negative: not the paper's direction.
    expect(evaluateFindings(result.models, comparisons(test(-0.3, -0.4, -0.2, 1e-4), test(0, -0.1, 0.1, 1)))[2].holds).toBe(false);
    // The control: a CI reaching the margin leaves an advantage of 0.2 possible, so "no advantage" is not supported,
    // even though the control's difference is not significant.
    const wide = evaluateFindings(result.models, comparisons(test(0.55, 0.45, 0.65, 1e-4), test(0.05, -0.15, 0.25, 0.6)));
    expect(wide[3].holds).toBe(false);
    // A drop that is not significant is not supported, whatever its size.
    const weakDrop = evaluateFindings(result.models, [{ ...result.comparisons[0], test: test(0.5, -0.1, 1, 0.25, 3) }, ...result.comparisons.slice(1)]);
    expect(weakDrop[0].holds).toBe(false);
    // Nothing to test: not supported, saying why.
    const alone = evaluateFindings(result.models, []);
    expect(alone.map((f) => f.holds)).toEqual([false, false, false, false]);
    expect(alone[2].detail).toBe("the run has no standard model of the same architecture");
  });

  it("prints every model and stage with n per point, the comparisons and the verdicts", async () => {
    const { result } = await makeResult();
    const summary = formatSummary(result);
    for (const m of result.models) {
      const block = summary.slice(summary.indexOf(`${m.name} (`));
      for (const s of m.stages) expect(block).toMatch(new RegExp(`\\n  ${s} +\\d`));
    }
    expect(summary).toContain("0.70 [0.65–0.75]");
    expect(summary).toContain("3/4 (0.75)");
    const rand = summary.slice(summary.indexOf("resnet_rand ("));
    expect(rand).toMatch(/\n  layer1 +1\.00 \[0\.95–1\.05\] +0\.55 \[0\.50–0\.60\] +n=3 ⚠ +3\/4/);
    expect(rand).toMatch(/\n  final .* n=10 +3\/4/);
    expect(summary).toMatch(/\n  resnet_l2adv − resnet @ final +\+0\.55 \[0\.45, 0\.65\], p = 1\.0e-4, n = 40 digits\n/);
    expect(summary).toContain("lenet: conv1_relu − final");
    expect(summary).toContain("✓ held: resnet_l2adv (adversarially trained)");
    const failing = { ...result, findings: evaluateFindings(result.models, comparisons(test(0.17, -0.05, 0.4, 0.12), test(0, 0, 0, 1))) };
    expect(formatSummary(failing)).toContain("✗ not supported: resnet_l2adv (adversarially trained)");
  });
});
