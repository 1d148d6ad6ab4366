import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { toConnection } from "../relay.js";
import { Layer, Model, ModelConnection, ModelFilter, RegisterModelInput, toModel } from "./model.types.js";

@Resolver(() => Model)
export class ModelResolver {
  @Mutation(() => Model, { description: "MEMBER: register an ONNX model (a new version when the name exists with another file; the same file returns the existing version unless forceNewVersion)" })
  async registerModel(@Arg("input", () => RegisterModelInput) input: RegisterModelInput, @Ctx() ctx: GraphQLContext) {
    return toModel((await ctx.services.models.register(ctx.caller, input)).model);
  }

  @Mutation(() => Model, { description: "MEMBER of the model's group: replace its tags (at most 20, each 1-64 of [a-z0-9._-])" })
  async setModelTags(@Arg("modelId", () => ID) modelId: string, @Arg("tags", () => [String]) tags: string[], @Ctx() ctx: GraphQLContext) {
    return toModel(await ctx.services.models.setTags(ctx.caller, modelId, tags));
  }

  @Query(() => Model, { nullable: true })
  async model(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    const m = await ctx.services.models.get(ctx.caller, id);
    return m && toModel(m);
  }

  @Query(() => ModelConnection, { description: "newest first" })
  async models(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("filter", () => ModelFilter, { nullable: true }) filter?: ModelFilter,
  ) {
    return toConnection(await ctx.services.models.list(ctx.caller, { first, after, filter }), toModel, !!after);
  }

  @FieldResolver(() => [Layer], { description: "the layer catalogue in topological order" })
  layers(@Root() model: Model, @Ctx() ctx: GraphQLContext) {
    return ctx.services.models.layers(model.id);
  }
}
