// The CI self-check's vitest configuration: the project's own (same plugins, same global setup that starts the
// embedded PostgreSQL), but collecting only the canary files, which `npm test` never collects.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "../../vitest.config.js";

const setupThrows = process.env.CANARY_GLOBAL_SETUP_THROWS === "1";

export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ["test/canary/*.canary.ts"],
      globalSetup: setupThrows ? ["test/canary/throwing-setup.ts"] : [],
    },
  }),
);
