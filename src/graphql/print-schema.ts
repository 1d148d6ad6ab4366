// `npm run schema:print`: writes schema.graphql (committed) from the code. test/graphql/schema.test.ts fails when stale.
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { buildAppSchema } from "./schema.js";

export const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../schema.graphql");

export async function printAppSchema(): Promise<string> {
  return printSchema(await buildAppSchema()) + "\n";
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(schemaFile, await printAppSchema());
  console.log(`wrote ${path.relative(process.cwd(), schemaFile)}`);
}
