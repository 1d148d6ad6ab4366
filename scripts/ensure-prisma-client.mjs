#!/usr/bin/env node
// Generates the Prisma client (src/generated/prisma, not committed) when it is missing or older than the schema.
// Run before start/test/typecheck/build instead of as a `postinstall` script: with `strict-allow-scripts`, npm 11
// refuses `npx metamers` in this folder when the project itself has an install script (npm exec links the project
// into its cache and its allowScripts preflight cannot approve a directory package).
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const schema = path.join(root, "prisma", "schema.prisma");
const client = path.join(root, "src", "generated", "prisma", "client.ts");

export function ensurePrismaClient() {
  if (existsSync(client) && statSync(client).mtimeMs >= statSync(schema).mtimeMs) return false;
  execFileSync(process.execPath, [path.join(root, "node_modules", "prisma", "build", "index.js"), "generate"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    // `prisma generate` needs no engine, but insists the variable names an existing file (docs/stack.md G13).
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, "prisma", ".no-schema-engine") },
  });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) ensurePrismaClient();
