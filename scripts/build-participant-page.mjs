#!/usr/bin/env node
// Bundles the participant page (src/web/participant, jsPsych 8 and its plugins from node_modules; no CDN) into
// .cache/participant-page/{app.js,app.css} when the bundle is missing or older than its sources. Run before
// start/test (package.json pre-scripts); the server also calls it on the page's first request, so a checkout that
// skipped the pre-script still serves a current page. Files are written to a temporary name and renamed, so
// concurrent builds (parallel test processes) never serve a half-written file.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sourceDir = path.join(root, "src", "web");
export const participantPageDir = path.join(root, ".cache", "participant-page");
const outputs = ["app.js", "app.css"].map((f) => path.join(participantPageDir, f));
// The installed jsPsych versions are part of the input: a changed lock file rebuilds.
const extraInputs = [path.join(root, "package-lock.json"), fileURLToPath(import.meta.url)];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function upToDate() {
  if (!outputs.every(existsSync)) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = Math.max(newestSource(sourceDir), ...extraInputs.filter(existsSync).map((f) => statSync(f).mtimeMs));
  return built >= inputs;
}

function writeAtomically(file, contents) {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

/** Builds the bundle if needed; returns whether it did. */
export async function buildParticipantPage({ force = false } = {}) {
  if (!force && upToDate()) return false;
  const { build, transform } = await import("esbuild");
  mkdirSync(participantPageDir, { recursive: true });
  const result = await build({
    entryPoints: [path.join(sourceDir, "participant", "main.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["chrome100", "firefox100", "safari15"],
    minify: true,
    sourcemap: false,
    legalComments: "eof",
    tsconfig: path.join(sourceDir, "tsconfig.json"),
    write: false,
    logLevel: "silent",
  });
  const css = [
    readFileSync(path.join(root, "node_modules", "jspsych", "css", "jspsych.css"), "utf8"),
    readFileSync(path.join(sourceDir, "participant", "style.css"), "utf8"),
  ].join("\n");
  writeAtomically(outputs[0], result.outputFiles[0].contents);
  writeAtomically(outputs[1], (await transform(css, { loader: "css", minify: true, legalComments: "eof" })).code);
  return true;
}

/** The built files with their content hashes (used as ETags). */
export function readParticipantPage() {
  return Object.fromEntries(
    outputs.map((file) => {
      const bytes = readFileSync(file);
      return [path.basename(file), { bytes, etag: `"${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}"` }];
    }),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildParticipantPage({ force: process.argv.includes("--force") });
  if (built) console.error(`participant page built in ${path.relative(root, participantPageDir)}`);
}
