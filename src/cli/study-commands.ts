// `metamers import feather2023 <dir> [--group <name>]`: load the paper's released data through the GraphQL API.
// The files are read here and their contents sent (importFeather2023): the CLI runs on the lab's machine and the
// server may be elsewhere, so a path would name a file on the wrong disk. The server is the one every other command
// talks to (--url, METAMERS_URL, the data dir's server.json), never a database opened directly.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { AppError } from "../errors.js";
import { FEATHER2023 } from "../services/studies/feather2023.js";
import type { Output } from "./api-commands.js";
import type { MetamersClient } from "./client.js";

export const IMPORT_USAGE = `usage: metamers import feather2023 <dir> [--group <name>]
  <dir> holds ${FEATHER2023.humanFile} and ${FEATHER2023.crossFile} (the released data, e.g. shared/paper-data);
  their contents are uploaded to the server. The import lands in the API key's group; --group names another group
  (needs an ADMIN key). Prints one JSON line; importing twice inserts nothing the second time.`;

const IMPORT = `mutation($i: ImportFeather2023Input) {
  importFeather2023(input: $i) {
    groupId groupName studyId key created models humanScores humanScoresInserted crossModelResults crossModelResultsInserted elapsedMs
  }
}`;

async function readDataFile(dir: string, name: string): Promise<string> {
  try {
    return await readFile(path.join(dir, name), "utf8");
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `expected ${name} in ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n${IMPORT_USAGE}`);
  }
}

export async function importCommand(argv: string[], client: MetamersClient, out: Output): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { group: { type: "string" } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new AppError("BAD_USER_INPUT", `${(e as Error).message}\n${IMPORT_USAGE}`);
  }
  const [study, dir, ...extra] = parsed.positionals;
  if (study !== "feather2023") {
    throw new AppError("BAD_USER_INPUT", `import: expected the study name 'feather2023', got ${study ? `'${study}'` : "nothing"}\n${IMPORT_USAGE}`);
  }
  if (!dir) throw new AppError("BAD_USER_INPUT", `import feather2023: expected the data folder, got nothing\n${IMPORT_USAGE}`);
  if (extra.length) throw new AppError("BAD_USER_INPUT", `import feather2023: unexpected arguments ${extra.join(" ")}\n${IMPORT_USAGE}`);
  const group = parsed.values.group;
  if (group === "") throw new AppError("BAD_USER_INPUT", `import feather2023: --group expects a group name, got an empty string\n${IMPORT_USAGE}`);

  // One after the other: with both missing, the error names the first file every time (read in parallel, whichever
  // failure arrived first was reported).
  const humanRecognizabilityCsv = await readDataFile(dir, FEATHER2023.humanFile);
  const crossModelRecognitionCsv = await readDataFile(dir, FEATHER2023.crossFile);
  const { importFeather2023 } = await client.gql(IMPORT, { i: { group, humanRecognizabilityCsv, crossModelRecognitionCsv } });
  const { groupName, ...summary } = importFeather2023;
  out.write(`${JSON.stringify({ group: groupName, ...summary })}\n`);
}
