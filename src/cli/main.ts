// `npx metamers <command>`: the command-line client. Commands that talk to a server find it from --url/--key,
// then METAMERS_URL/METAMERS_API_KEY, then the local data dir ($METAMERS_DATA_DIR/server.json and api-key).
import "reflect-metadata";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { loadCliEnvironment, type CliEnvironment } from "../config.js";
import { isAppError } from "../errors.js";
import { ApiError, MetamersClient } from "./client.js";
import { MODELS_USAGE, modelsCommand, STIMULI_USAGE, stimuliCommand, type Output } from "./api-commands.js";

const USAGE = `metamers <command> [options]   (global: --url <server>, --key <api key>, --json)

server commands (GraphQL API):
  health
  models add|list|layers ...       ${"(metamers models --help)"}
  stimuli create-set|add|list|sets ...
  synthesize --model ... --stages ... --set ... [--wait]   queue metamer synthesis, follow its progress

local commands (no server):
  layers <file.onnx>               the layer catalogue the registry would build
  grad --model ... --stage ...     one input gradient (see metamers grad --help)
  import feather2023 <dir> --group <name>   load the paper's released data (database access)
`;

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

export function resolveServer(env: CliEnvironment, flags: { url?: string; key?: string }): { url: string; key?: string } {
  const serverFile = path.join(env.dataDir, "server.json");
  const keyFile = path.join(env.dataDir, "api-key");
  const localUrl = existsSync(serverFile) ? (JSON.parse(readFileSync(serverFile, "utf8")) as { url: string }).url : undefined;
  const localKey = existsSync(keyFile) ? readFileSync(keyFile, "utf8").trim() : undefined;
  return {
    url: (flags.url ?? env.url ?? localUrl ?? "http://127.0.0.1:4000").replace(/\/+$/, "").replace(/\/graphql$/, ""),
    key: flags.key ?? env.apiKey ?? localKey,
  };
}

export async function runCli(argv: string[], out: Output = process.stdout, env = loadCliEnvironment()): Promise<void> {
  const { rest, url, key } = takeGlobalFlags(argv);
  const [command, ...args] = rest;
  const client = () => {
    const server = resolveServer(env, { url, key });
    return new MetamersClient(server.url, server.key);
  };
  switch (command) {
    case "health": {
      const { health } = await client().gql(`{ health { ok database version } }`);
      out.write(JSON.stringify(health) + "\n");
      return;
    }
    case "models":
      if (args[0] === "--help" || !args.length) return void out.write(MODELS_USAGE + "\n");
      return modelsCommand(args, client(), out);
    case "stimuli":
      if (args[0] === "--help" || !args.length) return void out.write(STIMULI_USAGE + "\n");
      return stimuliCommand(args, client(), out);
    case "synthesize": {
      const { synthesizeCommand, SYNTHESIZE_USAGE } = await import("./synthesis-commands.js");
      if (args[0] === "--help" || !args.length) return void out.write(SYNTHESIZE_USAGE + "\n");
      return synthesizeCommand(args, client(), out, { tty: out === process.stdout && process.stdout.isTTY });
    }
    case "layers":
      return (await import("./engine-commands.js")).layersCommand(args, out);
    case "grad":
      return (await import("./engine-commands.js")).gradCommand(args, out);
    case "import": {
      const { importCommand } = await import("./study-commands.js");
      return importCommand(args, {
        out,
        async openStore() {
          const { openLocalDatabase } = await import("../store/local.js");
          const { Store } = await import("../store/store.js");
          const db = await openLocalDatabase({ dataDir: env.dataDir, external: env.externalDatabase, attach: true });
          const store = Store.connect(db.config, { poolSize: 2 });
          return {
            store,
            async close() {
              await store.close();
              await db.stop();
            },
          };
        },
      });
    }
    case undefined:
    case "help":
    case "--help":
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
    const code = e instanceof ApiError || isAppError(e) ? e.code : "INTERNAL";
    process.stderr.write(`error [${code}]: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
