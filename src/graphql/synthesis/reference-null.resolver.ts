import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { CreateReferenceNullInput, ReferenceNull, StageCertificates } from "./reference-null.types.js";
import { MetamerTarget } from "./seeds.types.js";

// Validation and its inputs: reference nulls, certificate counts, and metamers grouped by target across seeds.
@Resolver(() => ReferenceNull)
export class ReferenceNullResolver {
  @Mutation(() => [ReferenceNull], {
    description:
      "MEMBER: a model-level reference null per stage from a reference stimulus set (optionally augmented; n pairs, default 100,000, at most 10^6; seeded), computed once by a background job and reused; returns the rows at once (status PENDING until READY)",
  })
  createReferenceNull(@Arg("input", () => CreateReferenceNullInput) input: CreateReferenceNullInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.referenceNulls.create(ctx.caller, input);
  }

  @Query(() => [StageCertificates], {
    description: "Per stage of a model (network order; optionally of one batch): certificates, passed, uninformative at the ceiling, underpowered",
  })
  certificateSummary(@Arg("modelId", () => ID) modelId: string, @Arg("batchId", () => ID, { nullable: true }) batchId: string | null, @Ctx() ctx: GraphQLContext) {
    return ctx.services.synthesis.certificateSummary(ctx.caller, { modelId, batchId });
  }

  @Query(() => [MetamerTarget], { description: "A batch's metamers grouped by target (stimulus, stage), seeds in order, with their spread across seeds" })
  metamerTargets(@Arg("batchId", () => ID) batchId: string, @Arg("first", () => Int, { defaultValue: 50 }) first: number, @Ctx() ctx: GraphQLContext) {
    return ctx.services.synthesis.metamerTargets(ctx.caller, { batchId, first });
  }

  @Query(() => ReferenceNull, { nullable: true })
  referenceNull(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.referenceNulls.get(ctx.caller, id);
  }

  @Query(() => [ReferenceNull], { description: "The group's reference nulls, newest first" })
  referenceNulls(
    @Arg("modelId", () => ID, { nullable: true }) modelId: string | null,
    @Arg("first", () => Int, { defaultValue: 50 }) first: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.referenceNulls.list(ctx.caller, { modelId, first });
  }
}
