// `npm run demo` arguments -> runDemo options and where to find the service.
import path from "node:path";
import { parseArgs } from "node:util";
import { ApiError } from "../cli/client.js";
import { DEMO_MODELS_DIR } from "./manifest.js";
import type { DemoOptions } from "./run.js";

export const DEMO_USAGE = `usage: npm run demo -- [--full] [--rounds N --steps N] [--per-class N] [--shown N] [--out demo-report.html]
  --full         the paper's schedule (8 rounds x 3000 steps) instead of the demo's 8 x 150
  --per-class    test digits per class to synthesize from (default 10)
  --shown        digits per class shown in the report's grid (default 1)
  --reference-pairs  pairs of each model's reference null from the 8,000 training digits (default 100000)
  --per-set-null     judge certificates against the test digits' own pairs instead (underpowered)
  --url          service base URL (default METAMERS_URL, the data dir's server.json, or http://127.0.0.1:4000)`;

export type DemoArgs = { help: true } | { help: false; options: DemoOptions & { out: string }; url?: string };

export function parseDemoArgs(argv: string[]): DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        full: { type: "boolean", default: false },
        rounds: { type: "string" },
        steps: { type: "string" },
        "per-class": { type: "string" },
        shown: { type: "string" },
        "reference-pairs": { type: "string" },
        "per-set-null": { type: "boolean", default: false },
        out: { type: "string", default: "demo-report.html" },
        url: { type: "string" },
        models: { type: "string", default: DEMO_MODELS_DIR },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new ApiError(`${(e as Error).message}\n${DEMO_USAGE}`, "BAD_USER_INPUT");
  }
  if (values.help) return { help: true };
  const int = (name: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new ApiError(`--${name}: expected a positive integer, got '${v}'\n${DEMO_USAGE}`, "BAD_USER_INPUT");
    return n;
  };
  return {
    help: false,
    url: values.url,
    options: {
      schedule: { rounds: int("rounds", values.rounds, 8), stepsPerRound: int("steps", values.steps, values.full ? 3000 : 150) },
      perClass: int("per-class", values["per-class"], 10),
      shown: int("shown", values.shown, 1),
      reference: values["per-set-null"] ? false : { pairs: int("reference-pairs", values["reference-pairs"], 100_000) },
      out: path.resolve(values.out!),
      modelsDir: path.resolve(values.models!),
    },
  };
}
