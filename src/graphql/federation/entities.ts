// The federation entities of the hub's subgraph: which types are entities, their keys, and how a reference to one is
// resolved. Every reference goes through the same service call as the type's own query, so a partner sees through
// `_entities` exactly what it sees through `model(id)` & co. (the one visibility rule of the store).
import type { GraphQLContext } from "../context.js";
import { toModel } from "../model/model.types.js";
import { toBatch } from "../synthesis/synthesis.resolver.js";
import { toMetamer } from "../synthesis/synthesis.types.js";

type Reference = Record<string, unknown>;
type ResolveReference = (ref: Reference, ctx: GraphQLContext) => Promise<unknown>;

export interface Entity {
  /** The `fields` argument of `@key`. */
  key: string;
  resolveReference: ResolveReference;
}

/** A representation's key field as a string; anything else resolves to null (as an unknown id does). */
const str = (ref: Reference, field: string): string | null => (typeof ref[field] === "string" ? (ref[field] as string) : null);

/** Resolves a single-id reference with `find`, null when the id is missing or not a string. */
const byId =
  (find: (id: string, ctx: GraphQLContext) => Promise<unknown>): ResolveReference =>
  async (ref, ctx) => {
    const id = str(ref, "id");
    return id === null ? null : find(id, ctx);
  };

export const ENTITIES: Record<string, Entity> = {
  Model: {
    key: "id",
    resolveReference: byId(async (id, ctx) => {
      const m = await ctx.services.models.get(ctx.caller, id);
      return m && toModel(m);
    }),
  },
  // A layer has no id of its own: it is the tensor `name` of the model `modelId` (model ids are UUIDs, so the pair is
  // unique across hubs too).
  Layer: {
    key: "modelId name",
    async resolveReference(ref, ctx) {
      const modelId = str(ref, "modelId");
      const name = str(ref, "name");
      if (modelId === null || name === null || !(await ctx.services.models.get(ctx.caller, modelId))) return null;
      return (await ctx.services.models.layers(modelId)).find((l) => l.name === name) ?? null;
    },
  },
  StimulusSet: { key: "id", resolveReference: byId((id, ctx) => ctx.services.stimuli.getSet(ctx.caller, id)) },
  Stimulus: { key: "id", resolveReference: byId((id, ctx) => ctx.services.stimuli.getStimulus(ctx.caller, id)) },
  Metamer: {
    key: "id",
    resolveReference: byId(async (id, ctx) => {
      const m = await ctx.services.synthesis.metamer(ctx.caller, id);
      return m && toMetamer(m, (sha) => ctx.services.synthesis.blobUrl(sha));
    }),
  },
  SynthesisBatch: {
    key: "id",
    resolveReference: byId(async (id, ctx) => {
      const view = await ctx.services.synthesis.batch(ctx.caller, id, { first: 0 });
      return view && toBatch(view);
    }),
  },
  // Studies have no single-study query; the caller's list is short (one row per imported study).
  Study: {
    key: "id",
    resolveReference: byId(async (id, ctx) => (await ctx.services.studies.list(ctx.caller)).find((s) => s.id === id) ?? null),
  },
};
