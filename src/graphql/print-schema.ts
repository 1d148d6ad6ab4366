// `npm run schema:print`: writes schema.graphql (the API) and subgraph.graphql (the Federation 2 SDL a consortium
// gateway composes, for the default hub name), both committed, from the code. test/graphql/schema.test.ts and
// test/federation/subgraph.test.ts fail when either is stale.
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { printSubgraphSdl } from "./federation/subgraph.js";
import { buildApiSchema, buildAppSchema, DEFAULT_HUB_NAME } from "./schema.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const schemaFile = path.join(root, "schema.graphql");
export const subgraphFile = path.join(root, "subgraph.graphql");

export async function printAppSchema(): Promise<string> {
  return printSchema(await buildApiSchema()) + "\n";
}

export async function printSubgraphFile(): Promise<string> {
  return printSubgraphSdl(await buildAppSchema(DEFAULT_HUB_NAME)) + "\n";
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(schemaFile, await printAppSchema());
  await writeFile(subgraphFile, await printSubgraphFile());
  console.log(`wrote ${path.relative(process.cwd(), schemaFile)} and ${path.relative(process.cwd(), subgraphFile)}`);
}
