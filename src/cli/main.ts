// `npx metamers <command>`: the command-line client. Commands that talk to a server find it from --url/--key,
// then METAMERS_URL/METAMERS_API_KEY, then the local data dir ($METAMERS_DATA_DIR/server.json and api-key):
// resolveServer in local-server.ts.
import "reflect-metadata";
import { loadCliEnvironment } from "../config.js";
import { asAppError } from "../errors.js";
import { ApiError, MetamersClient } from "./client.js";
import { MODELS_USAGE, modelsCommand, STIMULI_USAGE, stimuliCommand, type Output } from "./api-commands.js";
import { resolveServer } from "./local-server.js";

/** Server and key discovery lives in local-server.ts (the demo uses it too); re-exported for scripts and tests. */
export { resolveServer };

const USAGE = `metamers <command> [options]   (global: --url <server>, --key <api key>, --json; metamers <command> --help)

server commands (GraphQL API; server from --url, METAMERS_URL or $METAMERS_DATA_DIR/server.json):
  health
  models add|list|layers ...
  stimuli create-set|add|list|sets ...
  synthesize --model ... --stages ... --set ... [--wait]   queue metamer synthesis, follow its progress
  import feather2023 <dir> [--group <name>]   upload the paper's released data into the key's group
  groups create|list ...           groups of the hub (create: instance admin)
  keys create|list|revoke ...      the group's API keys (group ADMIN)
  experiments create|status|results|import|close ...   human experiments: design, links, progress, results, imports

local commands (no server):
  layers <file.onnx>               the layer catalogue the registry would build
  grad --model ... --stage ...     one input gradient
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

export async function runCli(argv: string[], out: Output = process.stdout, env = loadCliEnvironment()): Promise<void> {
  const { rest, url, key } = takeGlobalFlags(argv);
  const [command, ...args] = rest;
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
      return synthesizeCommand(args, client(), out, { tty: out === process.stdout && process.stdout.isTTY });
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

/** Entry point used by bin/metamers.js: prints errors as `error [CODE]: message` and exits non-zero. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  try {
    await runCli(argv);
  } catch (e) {
    const code = e instanceof ApiError ? e.code : (asAppError(e)?.code ?? "INTERNAL");
    process.stderr.write(`error [${code}]: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
