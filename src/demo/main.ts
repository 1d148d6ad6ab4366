// `npm run demo`: the paper's experiment at small scale, as a client of the service's GraphQL API (runDemo in
// run.ts). This entry point only parses the arguments, connects to the service (or starts the embedded one for the
// run: service.ts), runs the demo with progress bars on stderr and prints the summary.
import { ApiError } from "../cli/client.js";
import { loadCliEnvironment } from "../config.js";
import { DEMO_USAGE, parseDemoArgs } from "./options.js";
import { stderrProgress } from "./progress.js";
import { formatSummary } from "./report.js";
import { runDemo } from "./run.js";
import { connect } from "./service.js";

async function main(argv: string[]): Promise<void> {
  const args = parseDemoArgs(argv);
  if (args.help) return void console.log(DEMO_USAGE);
  const t0 = performance.now();
  const service = await connect(loadCliEnvironment(), { url: args.url }, (line) => console.log(line));
  try {
    const { result, reportPath } = await runDemo({ ...args.options, progress: stderrProgress() }, service.client);
    console.log(formatSummary(result));
    console.log(`report: ${reportPath} (${((performance.now() - t0) / 1000).toFixed(0)} s in all)`);
  } finally {
    await service.stop();
  }
}

main(process.argv.slice(2)).catch((e) => {
  const where = e instanceof ApiError ? ` [${e.code}]${e.operation ? ` in ${e.operation}` : ""}` : "";
  console.error(`demo failed${where}: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
