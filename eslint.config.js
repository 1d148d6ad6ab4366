// Lint = the layer rules of docs/architecture.md, enforced. Only import structure is checked here (the type checker
// and the tests cover the rest), so `npm run lint` fails on exactly one kind of mistake: an import across a layer
// boundary, or an import cycle.
//
//   edges:     src/graphql  src/cli  src/server  src/demo     (composition roots, which may import every layer:
//                    \         |         |         /           src/app.ts, src/main.ts, src/worker.ts, functions/)
//   services:                  src/services  (decisions; owns the view types the edges return)
//                             /            \
//   below:          src/engine            src/store   (engine: pure numerics, imports only itself;
//                                                     store: the only importer of Prisma)
//   at the edge:    src/dispatch (job transport), src/worker.ts (a worker's composition root)
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import tseslint from "typescript-eslint";

/** A zone: files in `target` may not import files in `from`, for the reason `message`. */
const zone = (target, from, message, except = []) => ({ target, from, message, except });

const EDGES = ["./src/graphql", "./src/cli", "./src/server", "./src/demo"];
// Composition roots wire every layer together: the local service, the app factory, the job worker, the Lambdas.
// The consortium gateway (src/gateway) is a root of its own: it composes the hubs' subgraphs and signs partner tokens.
const ROOTS = ["./src/app.ts", "./src/main.ts", "./src/worker.ts", "./functions", "./src/gateway"];

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "cdk.out/**", "src/generated/**", "coverage/**"] },
  {
    files: ["src/**/*.ts", "functions/**/*.ts", "infra/**/*.ts", "bench/**/*.ts", "test/**/*.ts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { sourceType: "module" } },
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
  {
    files: ["src/**/*.ts", "functions/**/*.ts"],
    rules: {
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            zone("./src/engine", "./src", "the engine imports nothing of the project but its own files", ["./engine"]),
            // The one way up: the store implements the ports that services declare (services/ports.ts).
            zone("./src/store", ["./src/services", ...EDGES, "./src/dispatch", ...ROOTS], "the store sits below services; it may implement services/ports.ts", ["./ports.ts"]),
            zone("./src/services", [...EDGES, "./src/dispatch", ...ROOTS], "services sit below the edges and the dispatchers"),
            zone(EDGES, ["./src/store", "./src/dispatch"], "edges reach the store and dispatch through services"),
            // The CLI's offline commands (layers, grad) run the engine on a lab's own file, through its public door.
            zone(["./src/graphql", "./src/server", "./src/demo"], "./src/engine", "edges reach the engine through services"),
            zone("./src/dispatch", [...EDGES, ...ROOTS.filter((r) => r !== "./src/app.ts")], "dispatch is a transport below the edges"),
            // The participant page runs in a browser (bundled by scripts/build-participant-page.mjs): nothing of the server.
            zone("./src/web", "./src", "browser code (src/web) imports only src/web and npm packages", ["./web"]),
            zone(["./src/services", "./src/store", "./src/dispatch", ...EDGES, ...ROOTS], "./src/engine", "the engine has one door: import src/engine/index.ts", ["./index.ts"]),
          ],
        },
      ],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@prisma/*", "**/generated/prisma/**"], message: "only src/store imports Prisma" }] },
      ],
    },
  },
  {
    // The store is Prisma's one importer.
    files: ["src/store/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
