// `npx metamers <command>`: the command-line client. Commands that talk to a server find it from --url/--key,
// then METAMERS_URL/METAMERS_API_KEY, then the local data dir ($METAMERS_DATA_DIR/server.json and api-key):
// resolveServer in local-server.ts.
import "reflect-metadata";
import { loadCliEnvironment } from "../config.js";
import { asAppError } from "../errors.js";
import { ApiError, MetamersClient } from "./client.js";
import { EXIT_CODES, JobsFailedError, type ExitCode } from "./exit-codes.js";
import { MODELS_USAGE, modelsCommand, STIMULI_USAGE, stimuliCommand, type Output } from "./api-commands.js";
import { resolveServer } from "./local-server.js";

/** Server and key discovery lives in local-server.ts (the demo uses it too); re-exported for scripts and tests. */
export { resolveServer };

const USAGE = `metamers <command> [options]   (global: --url <server>, --key <api key>, --json; metamers <command> --help)

server commands (GraphQL API; server from --url, METAMERS_URL or $METAMERS_DATA_DIR/server.json):
  health
  models add|list|layers|tag|archive ...
  stimuli create-set|add|list|sets ...
  synthesize --model ... --stages ... --set ... [--wait]   queue metamer synthesis, follow its progress
  import feather2023 <dir> [--group <name>]   upload the paper's released data into the key's group
  batches list|show|cancel|retry|archive ...   synthesis batches: filter, counts and progress, --wait, re-queue failures
  metamers list|get ...            metamers by filter; get: renderings, tensors, certificates and index.csv into a folder
  results curve|matrix|idiosyncrasy ...   recognizability results (--panel, --stage, --batch, --config)
  export [<table>] [--out <file>]  the bulk CSV exports (alone: the tables)
  groups create|list ...           groups of the hub (create: instance admin)
  keys create|list|revoke ...      the group's API keys (group ADMIN)
  experiments create|status|results|import|close ...   human experiments: design, links, progress, results, imports

local commands (no server):
  layers <file.onnx>               the layer catalogue the registry would build
  grad --model ... --stage ...     one input gradient

--json on every command: one JSON value on stdout. Exit codes: 0 done, 2 usage error (bad flag or input),
3 server unreachable or server error, 4 jobs waited for failed or were cancelled.
`;

const HEALTH_USAGE = "usage: metamers health   the server's health ({ ok, database, version }); needs no key";

/** The usage a command prints for --help/-h (anywhere in its arguments); the engine commands print their own. */
async function usageOf(command: string): Promise<string | undefined> {
  switch (command) {
    case "health":
      return HEALTH_USAGE;
    case "models":
      return MODELS_USAGE;
    case "stimuli":
      return STIMULI_USAGE;
    case "synthesize":
      return (await import("./synthesis-commands.js")).SYNTHESIZE_USAGE;
    case "import":
      return (await import("./study-commands.js")).IMPORT_USAGE;
    case "groups":
      return (await import("./group-commands.js")).GROUPS_USAGE;
    case "keys":
      return (await import("./group-commands.js")).KEYS_USAGE;
    case "experiments":
      return (await import("./experiment-commands.js")).EXPERIMENTS_USAGE;
    case "batches":
      return (await import("./batch-commands.js")).BATCHES_USAGE;
    case "metamers":
      return (await import("./metamer-commands.js")).METAMERS_USAGE;
    case "results":
      return (await import("./results-commands.js")).RESULTS_USAGE;
    case "export":
      return (await import("./export-commands.js")).EXPORT_USAGE;
    default:
      return undefined;
  }
}

/** Takes --url/--key (anywhere in argv) out of the arguments. */
function takeGlobalFlags(argv: string[]): { rest: string[]; url?: string; key?: string } {
  const rest: string[] = [];
  let url: string | undefined;
  let key: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "--url" || flag === "--key") {
      const value = inline ?? argv[++i];
      if (flag === "--url") url = value;
      else key = value;
    } else rest.push(a);
  }
  return { rest, url, key };
}

/** Commands whose output is JSON whatever the flags: `--json` is accepted and changes nothing. */
const ALWAYS_JSON = new Set(["health", "import", "experiments"]);

export async function runCli(argv: string[], out: Output = process.stdout, env = loadCliEnvironment()): Promise<void> {
  const { rest, url, key } = takeGlobalFlags(argv);
  const [command, ...given] = rest;
  const args = ALWAYS_JSON.has(command) ? given.filter((a) => a !== "--json") : given;
  const client = () => {
    const server = resolveServer(env, { url, key });
    return new MetamersClient(server.url, server.key);
  };
  if (command && (args.includes("--help") || args.includes("-h"))) {
    const usage = await usageOf(command);
    if (usage) return void out.write(usage + "\n");
  }
  switch (command) {
    case "health": {
      const { health } = await client().gql(`{ health { ok database version } }`);
      out.write(JSON.stringify(health) + "\n");
      return;
    }
    case "models":
      if (!args.length) return void out.write(MODELS_USAGE + "\n");
      return modelsCommand(args, client(), out);
    case "stimuli":
      if (!args.length) return void out.write(STIMULI_USAGE + "\n");
      return stimuliCommand(args, client(), out);
    case "synthesize": {
      const { synthesizeCommand, SYNTHESIZE_USAGE } = await import("./synthesis-commands.js");
      if (!args.length) return void out.write(SYNTHESIZE_USAGE + "\n");
      // The bar goes to stderr; synthesizeCommand redraws it in place when stderr is a terminal.
      return synthesizeCommand(args, client(), out);
    }
    case "layers":
      return (await import("./engine-commands.js")).layersCommand(args, out);
    case "grad":
      return (await import("./engine-commands.js")).gradCommand(args, out);
    case "groups":
    case "keys": {
      const groups = await import("./group-commands.js");
      if (!args.length) return void out.write((command === "groups" ? groups.GROUPS_USAGE : groups.KEYS_USAGE) + "\n");
      return (command === "groups" ? groups.groupsCommand : groups.keysCommand)(args, client(), out);
    }
    case "import": {
      const { importCommand, IMPORT_USAGE } = await import("./study-commands.js");
      if (!args.length) return void out.write(IMPORT_USAGE + "\n");
      return importCommand(args, client(), out);
    }
    case "experiments": {
      const { experimentsCommand, EXPERIMENTS_USAGE } = await import("./experiment-commands.js");
      if (!args.length) return void out.write(EXPERIMENTS_USAGE + "\n");
      return experimentsCommand(args, client(), out);
    }
    case "batches": {
      const { batchesCommand, BATCHES_USAGE } = await import("./batch-commands.js");
      if (!args.length) return void out.write(BATCHES_USAGE + "\n");
      return batchesCommand(args, client(), out);
    }
    case "metamers": {
      const { metamersCommand, METAMERS_USAGE } = await import("./metamer-commands.js");
      if (!args.length) return void out.write(METAMERS_USAGE + "\n");
      return metamersCommand(args, client(), out);
    }
    case "results": {
      const { resultsCommand, RESULTS_USAGE } = await import("./results-commands.js");
      if (!args.length) return void out.write(RESULTS_USAGE + "\n");
      return resultsCommand(args, client(), out);
    }
    case "export":
      return (await import("./export-commands.js")).exportCommand(args, client(), out);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      out.write(USAGE);
      return;
    default:
      throw new ApiError(`unknown command '${command}'\n${USAGE}`, "BAD_USER_INPUT");
  }
}

/** Local file errors of a path the command line named (a missing --labels-file, an unwritable --out): usage. */
const USAGE_ERRNOS = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EEXIST", "EROFS"]);

/**
 * The exit code of an error (exit-codes.ts): failed jobs 4; bad input, whether found here or refused by the server
 * (BAD_USER_INPUT), 2; everything else (unreachable, 5xx, BAD_RESPONSE, any other server code) 3.
 */
export function exitCodeOf(e: unknown): { code: string; exit: ExitCode } {
  if (e instanceof JobsFailedError) return { code: e.code, exit: EXIT_CODES.JOBS_FAILED };
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (!(e instanceof ApiError) && typeof errno === "string" && USAGE_ERRNOS.has(errno)) return { code: errno, exit: EXIT_CODES.USAGE };
  const code = e instanceof ApiError ? e.code : (asAppError(e)?.code ?? "INTERNAL");
  return { code, exit: code === "BAD_USER_INPUT" ? EXIT_CODES.USAGE : EXIT_CODES.SERVER };
}

/** Entry point used by bin/metamers.js: prints errors as `error [CODE]: message` and exits with exitCodeOf's code. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  try {
    await runCli(argv);
  } catch (e) {
    const { code, exit } = exitCodeOf(e);
    process.stderr.write(`error [${code}]: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = exit;
  }
}
