import swc from "unplugin-swc";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    // SWC reads experimentalDecorators/emitDecoratorMetadata from tsconfig.json (type-graphql needs design:* metadata).
    swc.vite({ module: { type: "es6" } }),
  ],
  resolve: {
    // graphql@16 has no "exports" map: without this alias Vite loads index.mjs for our code while type-graphql
    // loads index.js, and instanceof checks across the two realms fail.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ["reflect-metadata"],
    // One embedded PostgreSQL for the whole run, with a migrated template database (test/helpers/db.ts).
    globalSetup: ["test/helpers/global-setup.ts"],
    pool: "forks",
  },
});
