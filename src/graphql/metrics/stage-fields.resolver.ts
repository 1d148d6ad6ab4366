import { Ctx, FieldResolver, ID, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { Metamer, SynthesisBatch, SynthesisJob } from "../synthesis/synthesis.types.js";

/**
 * Stage labels and configurations on the synthesis objects (issue 13 item 2: every output that shows a stage gives
 * `stage` and `stageLabel`; issue 12 item 3: results are keyed by configuration). Field resolvers of their own, so
 * the synthesis types stay as they are. Labels are looked up once per model (or batch) per request.
 */
const labelCache = new WeakMap<GraphQLContext, Map<string, Promise<Map<string, string>>>>();

function labels(ctx: GraphQLContext, ref: { modelId: string } | { batchId: string }): Promise<Map<string, string>> {
  const cache = labelCache.get(ctx) ?? labelCache.set(ctx, new Map()).get(ctx)!;
  const key = "modelId" in ref ? `m:${ref.modelId}` : `b:${ref.batchId}`;
  return cache.get(key) ?? cache.set(key, ctx.services.stages.labelsFor(ref)).get(key)!;
}

@Resolver(() => Metamer)
export class MetamerStageFieldsResolver {
  @FieldResolver(() => String, { nullable: true, description: "the stage's label in the generating model, if it has one" })
  async stageLabel(@Root() m: Metamer, @Ctx() ctx: GraphQLContext) {
    return (await labels(ctx, { modelId: m.modelId })).get(m.stage) ?? null;
  }

  @FieldResolver(() => String, { description: "the configuration of the batch that made it (SynthesisBatch.configHash)" })
  configHash(@Root() m: Metamer & { configHash?: string }) {
    return m.configHash ?? "unbatched";
  }

  @FieldResolver(() => ID, { nullable: true, description: "the batch that made it" })
  batchId(@Root() m: Metamer & { batchId?: string | null }) {
    return m.batchId ?? null;
  }
}

@Resolver(() => SynthesisJob)
export class SynthesisJobStageFieldsResolver {
  @FieldResolver(() => String, { nullable: true, description: "the stage's label in the batch's model, if it has one" })
  async stageLabel(@Root() job: SynthesisJob, @Ctx() ctx: GraphQLContext) {
    return job.batchId ? ((await labels(ctx, { batchId: job.batchId })).get(job.stage) ?? null) : null;
  }
}

@Resolver(() => SynthesisBatch)
export class SynthesisBatchConfigFieldsResolver {
  @FieldResolver(() => String, {
    description: "sha256 of the canonical JSON of recipe, schedule, step sizes, seed set and null source: what results are keyed by",
  })
  configHash(@Root() batch: SynthesisBatch & { configHash?: string }) {
    return batch.configHash ?? "unspecified";
  }
}
