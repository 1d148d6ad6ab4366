#!/usr/bin/env node
// The `metamers` command (npx metamers ...). It runs the TypeScript sources through the SWC loader, which keeps the
// decorator metadata the GraphQL types need. Both the loader and the project's tsconfig are located from this file,
// not from the working directory (the stock esm-register resolves them from cwd).
import { register } from "node:module";
import { fileURLToPath } from "node:url";

process.env.TS_NODE_PROJECT ??= fileURLToPath(new URL("../tsconfig.json", import.meta.url));
// The generated Prisma client is not committed; make it on first use (a file-date check otherwise).
const { ensurePrismaClient } = await import("../scripts/ensure-prisma-client.mjs");
ensurePrismaClient();
register("@swc-node/register/esm", import.meta.url);
const { main } = await import("../src/cli/main.ts");
await main();
