import { fmtTest } from "./findings.js";
import { type CrossModelMatrix, type CurvePoint, type DemoModelResult, type DemoResult, MIN_POINT_N, type PairedComparison } from "./result.js";

/**
 * The demo's outputs as pure functions of a DemoResult: `renderReport` gives a self-contained HTML page (images as
 * base64 data URLs, plots as inline SVG, no scripts, no network), `formatSummary` the console text.
 */

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const pct = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v.toFixed(2));

/** "n=87", or "n=3 ⚠" below MIN_POINT_N validated metamers. */
export const nLabel = (n: number) => `n=${n}${n < MIN_POINT_N ? " ⚠" : ""}`;

/** Held / not supported, as the findings print it. */
const verdict = (holds: boolean) => (holds ? "held" : "not supported");

/** Stages of a model's curves in display order: natural first, the model's stages, then anything else the curves have. */
function curveStages(m: DemoModelResult): string[] {
  const curveStageNames = [...m.generatorCurve, ...m.otherModelsCurve].map((p) => p.stage);
  return [...new Set([...curveStageNames.filter((s) => s === "natural"), ...m.stages, ...curveStageNames])];
}

const comparisonName = (c: PairedComparison) =>
  c.kind === "MATCHED" ? `${c.a.model} − ${c.b.model} @ ${c.a.stage}` : `${c.a.model}: ${c.a.stage} − ${c.b.stage}`;

const pngUrl = (base64: string) => `data:image/png;base64,${base64}`;

const CURVE_COLOURS = { generator: "#1f77b4", others: "#d62728" };

/** Recognizability (0..1) by stage for the generating model and the other models, with CI whiskers. */
export function curveSvg(model: DemoModelResult, chance: number): string {
  // Natural stimuli first (when the curves have them), then the model's stages in network order.
  const present = new Set([...model.generatorCurve, ...model.otherModelsCurve].map((p) => p.stage));
  const stages = [...new Set([...(present.has("natural") ? ["natural"] : []), ...model.stages, ...present])].filter((s) => present.has(s));
  const width = 380;
  const height = 230;
  const left = 60;
  const right = 10;
  const top = 10;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (i: number) => left + (stages.length <= 1 ? plotW / 2 : (i * plotW) / (stages.length - 1));
  const y = (v: number) => top + plotH * (1 - Math.max(0, Math.min(1, v)));
  const parts: string[] = [];
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#999"/>`);
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 4}" y="${y(tick) + 4}" font-size="10" text-anchor="end">${tick}</text>`);
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${y(chance)}" y2="${y(chance)}" stroke="#777" stroke-dasharray="4 3"/>`,
    `<text x="${left + plotW - 2}" y="${y(chance) - 3}" font-size="9" text-anchor="end" fill="#555">chance</text>`,
  );
  stages.forEach((s, i) => {
    parts.push(
      `<text x="${x(i)}" y="${top + plotH + 12}" font-size="9" text-anchor="end" transform="rotate(-30 ${x(i)} ${top + plotH + 12})">${escapeHtml(s)}</text>`,
    );
  });
  const series = (points: CurvePoint[], colour: string, cls: string) => {
    const located = points
      .map((p) => ({ p, i: stages.indexOf(p.stage) }))
      .filter((q): q is { p: CurvePoint & { mean: number }; i: number } => q.p.mean !== null);
    if (located.length === 0) return;
    const path = located.map((q, k) => `${k ? "L" : "M"}${x(q.i).toFixed(1)},${y(q.p.mean).toFixed(1)}`).join(" ");
    parts.push(`<path class="${cls}" d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const { p, i } of located) {
      if (p.low !== null && p.high !== null) {
        parts.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${y(p.low)}" y2="${y(p.high)}" stroke="${colour}" stroke-width="1.5"/>`);
      }
      parts.push(
        `<circle cx="${x(i)}" cy="${y(p.mean)}" r="3" fill="${colour}"><title>${escapeHtml(p.stage)}: ${pct(p.mean)} [${pct(p.low)}, ${pct(p.high)}], n=${p.n}</title></circle>`,
      );
    }
  };
  series(model.generatorCurve, CURVE_COLOURS.generator, "curve-generator");
  series(model.otherModelsCurve, CURVE_COLOURS.others, "curve-others");
  return `<svg class="curve" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="recognizability of ${escapeHtml(model.name)} metamers by stage">${parts.join("")}</svg>`;
}

/** White (0) to dark blue (1). */
function heatColour(v: number | null): string {
  if (v === null) return "#eeeeee";
  const t = Math.max(0, Math.min(1, v));
  const lerp = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${lerp(255, 8)},${lerp(255, 48)},${lerp(255, 107)})`;
}

export function heatmapSvg(matrix: CrossModelMatrix): string {
  const cell = 56;
  const left = 110;
  const top = 110;
  const width = left + cell * matrix.recognizers.length + 80; // room for the last rotated column label
  const height = top + cell * matrix.generators.length + 10;
  const parts: string[] = [];
  matrix.recognizers.forEach((r, j) => {
    const cx = left + j * cell + cell / 2;
    parts.push(`<text x="${cx}" y="${top - 6}" font-size="10" transform="rotate(-50 ${cx} ${top - 6})">${escapeHtml(r)}</text>`);
  });
  matrix.generators.forEach((g, i) => {
    parts.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="10" text-anchor="end">${escapeHtml(g)}</text>`);
    matrix.recognizers.forEach((r, j) => {
      const v = matrix.values[i]?.[j] ?? null;
      const n = matrix.n[i]?.[j] ?? 0;
      parts.push(
        `<rect class="heat-cell" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${heatColour(v)}" stroke="#fff"><title>${escapeHtml(r)} on ${escapeHtml(g)}'s metamers: ${pct(v)} (n=${n})</title></rect>`,
        `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" font-size="11" text-anchor="middle" fill="${v !== null && v > 0.55 ? "#fff" : "#000"}">${pct(v)}</text>`,
      );
    });
  });
  return `<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="cross-model recognition matrix">${parts.join("")}</svg>`;
}

function gridTable(result: DemoResult, model: DemoModelResult): string {
  const byKey = new Map(model.metamers.map((m) => [`${m.stage}\u0000${m.digit}`, m]));
  const header = result.digits
    .map((d, k) => `<td><img class="natural" data-digit="${k}" alt="natural ${escapeHtml(d.label)}" src="${pngUrl(d.png)}"></td>`)
    .join("");
  const rows = model.stages.map((stage) => {
    const cells = result.digits.map((d, k) => {
      const m = byKey.get(`${stage}\u0000${k}`);
      if (!m) return `<td><span class="missing" title="no metamer">·</span></td>`;
      const verdict = m.passed === null ? "unvalidated" : m.passed ? "passed" : "failed";
      return `<td><img class="metamer ${verdict}" data-model="${escapeHtml(model.name)}" data-stage="${escapeHtml(stage)}" data-digit="${k}" alt="${escapeHtml(model.name)} ${escapeHtml(stage)} metamer of a ${escapeHtml(d.label)} (${verdict})" src="${pngUrl(m.png)}"></td>`;
    });
    return `<tr><th>${escapeHtml(stage)}</th>${cells.join("")}</tr>`;
  });
  return `<table class="grid" data-model="${escapeHtml(model.name)}"><tr><th>natural</th>${header}</tr>${rows.join("")}</table>`;
}

/** The curve points with their validated n (flagged below MIN_POINT_N), beside the plot. */
function curveTable(m: DemoModelResult): string {
  const cell = (p: CurvePoint | undefined) => (p && p.mean !== null ? `${pct(p.mean)} [${pct(p.low)}, ${pct(p.high)}]` : "–");
  const rows = curveStages(m).map((stage) => {
    const gen = m.generatorCurve.find((p) => p.stage === stage);
    const oth = m.otherModelsCurve.find((p) => p.stage === stage);
    const n = oth?.n ?? gen?.n ?? 0;
    return `<tr${n < MIN_POINT_N ? ' class="small-n"' : ""}><th>${escapeHtml(stage)}</th><td>${cell(gen)}</td><td>${cell(oth)}</td><td class="n">${escapeHtml(nLabel(n))}</td></tr>`;
  });
  return `<table class="curve-points" data-model="${escapeHtml(m.name)}"><tr><th>stage</th><th>generating model</th><th>other models</th><th>validated</th></tr>${rows.join("")}</table>`;
}

function comparisonsTable(comparisons: PairedComparison[]): string {
  if (!comparisons.length) return "";
  const rows = comparisons.map((c) => {
    const t = c.test;
    const cells = t
      ? `<td>${t.estimate >= 0 ? "+" : ""}${t.estimate.toFixed(2)}</td><td>[${t.low.toFixed(2)}, ${t.high.toFixed(2)}]</td><td>${t.p.toPrecision(2)}${t.exact ? " (exact)" : ""}</td><td>${escapeHtml(nLabel(t.n))}</td>`
      : `<td colspan="4">no digit with a validated metamer on both sides</td>`;
    return `<tr><td>${escapeHtml(comparisonName(c))}</td>${cells}<td>${escapeHtml(c.recognizers.join(", "))}</td></tr>`;
  });
  return `<h2>Paired comparisons</h2>
<p>Per digit, the share of the judging models that recognised A's metamer minus the share for B's; mean over digits, bootstrap 95% CI, two-sided sign-flip permutation p (10,000 draws, or exact).</p>
<table class="comparisons"><tr><th>A − B</th><th>mean</th><th>95% CI</th><th>p</th><th>digits</th><th>judged by</th></tr>${rows.join("")}</table>`;
}

function validationText(model: DemoModelResult): string {
  return model.validation
    .map((v) => `${escapeHtml(v.stage)} ${v.passed}/${v.total}`)
    .join(" · ");
}

export function renderReport(result: DemoResult): string {
  const chance = result.classLabels.length ? 1 / result.classLabels.length : 0;
  const findings = result.findings
    .map(
      (f) =>
        `<li class="${f.holds ? "holds" : "fails"}"><b>${f.holds ? "✓" : "✗"} ${verdict(f.holds)}</b>: ${escapeHtml(f.statement)} <span class="detail">(${escapeHtml(f.detail)})</span></li>`,
    )
    .join("");
  const modelRows = result.models
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.name)}</td><td>${escapeHtml(m.description)}</td><td>${escapeHtml(m.regime)}${m.epsilon !== null ? ` (L2 ε=${m.epsilon})` : ""}</td><td>${pct(m.cleanAccuracy)}</td><td>${pct(m.robustAccuracy)}</td></tr>`,
    )
    .join("");
  const sections = result.models
    .map(
      (m) => `<section class="model" id="model-${escapeHtml(m.name)}">
<h3>${escapeHtml(m.name)} <small>${escapeHtml(m.regime)}</small></h3>
<div class="row"><div>${gridTable(result, m)}</div>
<div class="plot">${curveSvg(m, chance)}
${curveTable(m)}
<p class="legend"><span style="color:${CURVE_COLOURS.generator}">■</span> generating model · <span style="color:${CURVE_COLOURS.others}">■</span> other models (mean, 95% CI)</p>
<p class="validation">validated (null and label): ${validationText(m)}</p></div></div>
</section>`,
    )
    .join("\n");
  const matrix = result.crossModel
    ? `<h2>Cross-model recognition (${escapeHtml(result.crossModel.stage)} stage)</h2>
<p>Rows: the model that generated the metamers. Columns: the model that classified them. Cell: accuracy.</p>
${heatmapSvg(result.crossModel)}`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(result.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table.models td, table.models th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
table.grid { border-collapse: collapse; }
table.grid th { font-size: 11px; text-align: right; padding-right: 6px; white-space: nowrap; }
table.grid td { padding: 1px; }
table.grid img { width: 42px; height: 42px; image-rendering: pixelated; display: block; border: 2px solid transparent; }
table.grid img.failed { border-color: #e66; }
.row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
li.holds b { color: #17803d; } li.fails b { color: #b42318; }
.detail, .legend, .validation { color: #555; font-size: 12px; }
table.curve-points, table.comparisons { border-collapse: collapse; font-size: 12px; }
table.curve-points td, table.curve-points th, table.comparisons td, table.comparisons th { padding: 2px 6px; text-align: left; border-bottom: 1px solid #eee; }
tr.small-n td.n { color: #b42318; font-weight: bold; }
</style></head>
<body>
<h1>${escapeHtml(result.title)}</h1>
<p>Generated ${escapeHtml(result.createdAt)} against ${escapeHtml(result.serviceUrl)}. Schedule: ${result.schedule.rounds} rounds × ${result.schedule.stepsPerRound} steps${result.elapsedSeconds !== null ? `; the run took ${Math.round(result.elapsedSeconds)} s` : ""}. Metamers with a red border failed validation.</p>
<h2>Findings</h2><ul class="findings">${findings}</ul>
${comparisonsTable(result.comparisons ?? [])}
<h2>Models</h2>
<table class="models"><tr><th>model</th><th>architecture</th><th>training</th><th>clean accuracy</th><th>robust accuracy</th></tr>${modelRows}</table>
<h2>Natural digits and their metamers, by model and stage</h2>
${sections}
${matrix}
</body></html>
`;
}

/** The console summary: per model, the recognizability by stage (generator and other models) and validation. */
export function formatSummary(result: DemoResult): string {
  const lines: string[] = [];
  const ci = (p: CurvePoint | undefined) => (p && p.mean !== null ? `${pct(p.mean)} [${pct(p.low)}–${pct(p.high)}]` : "–");
  for (const m of result.models) {
    lines.push(`${m.name} (${m.regime}${m.epsilon !== null ? `, L2 ε=${m.epsilon}` : ""})`);
    lines.push(`  ${"stage".padEnd(12)}${"generating model".padEnd(22)}${"other models".padEnd(22)}${"n".padEnd(9)}validated`);
    // Network order, natural first; a stage without validated metamers has no curve point but keeps its row and place.
    for (const stage of curveStages(m)) {
      const gen = m.generatorCurve.find((p) => p.stage === stage);
      const oth = m.otherModelsCurve.find((p) => p.stage === stage);
      const val = m.validation.find((v) => v.stage === stage);
      const valText = val ? `${val.passed}/${val.total} (${val.total ? pct(val.passed / val.total) : "–"})` : "";
      const n = oth?.n ?? gen?.n ?? 0;
      lines.push(`  ${stage.padEnd(12)}${ci(gen).padEnd(22)}${ci(oth).padEnd(22)}${nLabel(n).padEnd(9)}${valText}`);
    }
  }
  if (result.comparisons?.length) {
    lines.push("Paired comparisons (A − B per digit: mean [95% CI], sign-flip p, digits):");
    for (const c of result.comparisons) lines.push(`  ${comparisonName(c).padEnd(40)}${c.test ? fmtTest(c.test) : "no digit with a validated metamer on both sides"}`);
  }
  if (result.findings.length) {
    lines.push("Findings:");
    for (const f of result.findings) lines.push(`  ${f.holds ? "✓" : "✗"} ${verdict(f.holds)}: ${f.statement}: ${f.detail}`);
  }
  return lines.join("\n");
}
