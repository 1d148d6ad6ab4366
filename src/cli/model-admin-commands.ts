// `metamers models tag|archive`: a model's tags (setModelTags) and archiving (archiveModel) through the GraphQL API.
// Kept apart from api-commands.ts (registration and uploads) so each file stays one concern.
import type { MetamersClient } from "./client.js";
import { emit, listOf, parseCommand, positionalsOf, usageError, type Output } from "./output.js";

export const MODEL_ADMIN_USAGE = `  metamers models tag <model id> <tag,...> | --clear   replace the model's tags (find them: models list --tag <tag>)
  metamers models archive <model id> [--undo]   hide the model from lists (still readable by id, kept for provenance);
                                       --undo lists it again`;

const MODEL_FIELDS = "id name version tags archivedAt";

/** `models tag <id> <tags>`: replaces the tags (setModelTags; `--clear` for none). */
export async function modelsTag(rest: string[], client: MetamersClient, out: Output, usage: string): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, usage, { clear: { type: "boolean", default: false } });
  const [id, ...given] = positionals;
  if (!id) throw usageError("models tag: expected a model id and tags, got nothing", usage);
  const tags = listOf(given) ?? [];
  if (v.clear ? tags.length : !tags.length) throw usageError(`models tag: expected tags (a,b,c) or --clear, got ${v.clear ? "both" : "neither"}`, usage);
  const { setModelTags: m } = await client.gql(`mutation CliModelTags($id: ID!, $tags: [String!]!) { setModelTags(modelId: $id, tags: $tags) { ${MODEL_FIELDS} } }`, { id, tags });
  emit(out, json, m, () => `${m.name} v${m.version} (${m.id}) tags: ${m.tags.length ? m.tags.join(", ") : "(none)"}\n`);
}

/** `models archive <id> [--undo]`: archiveModel, or unarchiveModel with --undo. */
export async function modelsArchive(rest: string[], client: MetamersClient, out: Output, usage: string): Promise<void> {
  const { values: v, positionals, json } = parseCommand(rest, usage, { undo: { type: "boolean", default: false } });
  const [id] = positionalsOf(positionals, 1, "one model id", usage);
  const mutation = v.undo ? "unarchiveModel" : "archiveModel";
  const { [mutation]: m } = await client.gql(`mutation CliArchiveModel($id: ID!) { ${mutation}(modelId: $id) { ${MODEL_FIELDS} } }`, { id });
  emit(out, json, m, () => (v.undo ? `listed ${m.name} v${m.version} (${m.id}) again\n` : `archived ${m.name} v${m.version} (${m.id}) at ${m.archivedAt}\n`));
}
