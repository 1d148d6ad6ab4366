import { Arg, Ctx, Field, ID, InputType, Int, Query, registerEnumType, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { ConnectionType, toConnection } from "../relay.js";
import { toBatch } from "../synthesis/synthesis.resolver.js";
import { Metamer, SynthesisBatch, toMetamer } from "../synthesis/synthesis.types.js";

// Listing and filtering (issue 13 item 1). One grammar for every filter (README "Listing and filtering"): fields
// given are ANDed, a list field matches any of its values, createdAfter is inclusive and createdBefore exclusive.

export enum ListOrderEnum {
  NEWEST_FIRST = "NEWEST_FIRST",
  OLDEST_FIRST = "OLDEST_FIRST",
}
registerEnumType(ListOrderEnum, { name: "ListOrder", description: "by creation time (then id)" });

@InputType({ description: "Metamers matching every field given; a list matches any of its values" })
export class MetamerFilter {
  @Field(() => [ID], { nullable: true }) modelIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: "tensor names or stage labels of the filter's models (needs modelIds)" })
  stages?: string[] | null;
  @Field(() => [ID], { nullable: true }) stimulusSetIds?: string[] | null;
  @Field(() => [ID], { nullable: true }) batchIds?: string[] | null;
  @Field(() => [String], { nullable: true, description: "the natural stimulus' class label" }) labels?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: "validation verdict" }) passed?: boolean | null;
  @Field(() => [Int], { nullable: true }) seeds?: number[] | null;
  @Field(() => [String], { nullable: true, description: "SynthesisBatch.configHash values" }) configHashes?: string[] | null;
  @Field(() => Date, { nullable: true, description: "created at or after" }) createdAfter?: Date | null;
  @Field(() => Date, { nullable: true, description: "created before" }) createdBefore?: Date | null;
}

@InputType({ description: "Synthesis batches matching every field given; a list matches any of its values" })
export class SynthesisBatchFilter {
  @Field(() => [ID], { nullable: true }) modelIds?: string[] | null;
  @Field(() => [String], { nullable: true }) configHashes?: string[] | null;
  @Field(() => Boolean, { nullable: true }) cancelled?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: "true: only archived batches; false or absent: archived batches are hidden" })
  archived?: boolean | null;
  @Field(() => Date, { nullable: true, description: "created at or after" }) createdAfter?: Date | null;
  @Field(() => Date, { nullable: true, description: "created before" }) createdBefore?: Date | null;
}

const MetamerConnection = ConnectionType(Metamer, "Metamer");
const SynthesisBatchConnection = ConnectionType(SynthesisBatch, "SynthesisBatch");

@Resolver()
export class ListingResolver {
  @Query(() => MetamerConnection, { description: "metamers the caller can read, filtered; newest first by default" })
  async metamers(
    @Arg("filter", () => MetamerFilter, { nullable: true }) filter: MetamerFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("order", () => ListOrderEnum, { defaultValue: ListOrderEnum.NEWEST_FIRST }) order: ListOrderEnum,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toConnection(await ctx.services.listing.metamers(ctx.caller, filter, { first, after, order }), (m) => toMetamer(m, (sha) => ctx.services.synthesis.blobUrl(sha)), !!after);
  }

  @Query(() => SynthesisBatchConnection, { description: "synthesis batches the caller can read, filtered; newest first by default" })
  async synthesisBatches(
    @Arg("filter", () => SynthesisBatchFilter, { nullable: true }) filter: SynthesisBatchFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("order", () => ListOrderEnum, { defaultValue: ListOrderEnum.NEWEST_FIRST }) order: ListOrderEnum,
    @Ctx() ctx: GraphQLContext,
  ) {
    const page = await ctx.services.listing.batches(ctx.caller, filter, { first, after, order });
    return toConnection({ ...page, items: await Promise.all(page.items.map((b) => toBatch({ batch: b, jobs: [], counts: b.counts }))) }, (b) => b, !!after);
  }
}
