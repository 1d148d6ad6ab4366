import { Arg, Ctx, Field, Float, ID, Int, Mutation, ObjectType, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { Model, toModel } from "../model/model.types.js";
import { StimulusSet } from "../stimulus/stimulus.types.js";
import { toBatch } from "../synthesis/synthesis.resolver.js";
import { SynthesisBatch } from "../synthesis/synthesis.types.js";

@ObjectType({ description: "What a delete removed" })
export class DeletionResult {
  @Field(() => ID, { description: "the deleted object's id" }) id: string;
  @Field(() => Int, { description: "blobs (files, tensors, renderings) no other row used, removed with it" }) blobsRemoved: number;
  @Field(() => Float) bytesFreed: number;
}

// Archive (MEMBER of the owner group: hidden from lists unless filter { archived: true }, still readable by id) and
// delete (ADMIN of the owner group; CONFLICT naming what still uses the object). src/services/archive.ts decides.
@Resolver()
export class ArchiveResolver {
  @Mutation(() => Model, { description: "MEMBER: hide a model from lists (models(filter: { archived: true }) shows it); kept for provenance" })
  async archiveModel(@Arg("modelId", () => ID) modelId: string, @Ctx() ctx: GraphQLContext) {
    return toModel(await ctx.services.archive.archiveModel(ctx.caller, modelId, true));
  }

  @Mutation(() => Model, { description: "MEMBER: list an archived model again" })
  async unarchiveModel(@Arg("modelId", () => ID) modelId: string, @Ctx() ctx: GraphQLContext) {
    return toModel(await ctx.services.archive.archiveModel(ctx.caller, modelId, false));
  }

  @Mutation(() => StimulusSet, { description: "MEMBER: hide a stimulus set from lists (stimulusSets(filter: { archived: true }) shows it)" })
  archiveStimulusSet(@Arg("setId", () => ID) setId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.archive.archiveStimulusSet(ctx.caller, setId, true);
  }

  @Mutation(() => StimulusSet, { description: "MEMBER: list an archived stimulus set again" })
  unarchiveStimulusSet(@Arg("setId", () => ID) setId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.archive.archiveStimulusSet(ctx.caller, setId, false);
  }

  @Mutation(() => SynthesisBatch, { description: "MEMBER: hide a batch from synthesisBatches (filter: { archived: true } shows it)" })
  async archiveSynthesisBatch(@Arg("batchId", () => ID) batchId: string, @Ctx() ctx: GraphQLContext) {
    return toBatch(await ctx.services.archive.archiveSynthesisBatch(ctx.caller, batchId, true), ctx);
  }

  @Mutation(() => SynthesisBatch, { description: "MEMBER: list an archived batch again" })
  async unarchiveSynthesisBatch(@Arg("batchId", () => ID) batchId: string, @Ctx() ctx: GraphQLContext) {
    return toBatch(await ctx.services.archive.archiveSynthesisBatch(ctx.caller, batchId, false), ctx);
  }

  @Mutation(() => DeletionResult, { description: "ADMIN: delete a model no batch, metamer, panel, share or study uses; and its unused blobs" })
  deleteModel(@Arg("modelId", () => ID) modelId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.archive.delete(ctx.caller, "MODEL", modelId);
  }

  @Mutation(() => DeletionResult, { description: "ADMIN: delete a stimulus set no job, metamer, experiment or share uses; and its unused blobs" })
  deleteStimulusSet(@Arg("setId", () => ID) setId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.archive.delete(ctx.caller, "STIMULUS_SET", setId);
  }

  @Mutation(() => DeletionResult, {
    description: "ADMIN: delete a batch (its jobs, metamers and their recognitions) when no experiment or share uses it and no job is queued or running",
  })
  deleteSynthesisBatch(@Arg("batchId", () => ID) batchId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.archive.delete(ctx.caller, "SYNTHESIS_BATCH", batchId);
  }
}
