// `metamers import feather2023 <dir> --group <name>`: load the paper's released data into a group.
import { parseArgs } from "node:util";
import { AppError } from "../errors.js";
import { StudyService } from "../services/studies/index.js";
import type { Store } from "../store/store.js";

export const IMPORT_USAGE = "usage: metamers import feather2023 <dir with human_recognizability.csv and cross_model_recognition.csv> --group <group name>";

export interface CommandOutput {
  write(text: string): unknown;
}

export interface StudyCommandDeps {
  /** Opens the configured database (the dispatcher decides: DATABASE_URL or the embedded cluster). */
  openStore(): Promise<{ store: Store; close(): Promise<void> }>;
  out?: CommandOutput;
}

/**
 * Imports into the named group (created when it does not exist: the CLI is an operator's tool with direct
 * database access). Prints one JSON line with the import summary; running it twice inserts nothing the second time.
 */
export async function importCommand(argv: string[], deps: StudyCommandDeps): Promise<void> {
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
  const groupName = parsed.values.group;
  if (!groupName) throw new AppError("BAD_USER_INPUT", `import feather2023: --group <name> is required\n${IMPORT_USAGE}`);

  const { store, close } = await deps.openStore();
  try {
    const group = (await store.groups.findGroupByName(groupName)) ?? (await store.groups.createGroup(groupName));
    const summary = await new StudyService(store).importFeather2023From(group.id, dir);
    (deps.out ?? process.stdout).write(`${JSON.stringify({ group: group.name, groupId: group.id, ...summary })}\n`);
  } finally {
    await close();
  }
}
