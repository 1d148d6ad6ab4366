import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { Model, toModel } from "../model/model.types.js";
import { LabelMap } from "./label-maps.types.js";

@Resolver(() => LabelMap)
export class LabelMapResolver {
  @Mutation(() => LabelMap, {
    description: 'MEMBER: a label map from JSON {"categories": {"dog": ["n02085620", ...], ...}}; names are unique and maps immutable',
  })
  createLabelMap(@Arg("name") name: string, @Arg("json") json: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.labelMaps.create(ctx.caller, name, json);
  }

  @Mutation(() => Model, {
    description: "MEMBER: score the model in a label map's categories (label check of new certificates, recognition); null: its own classes. Its recognitions are recomputed",
  })
  async setModelLabelMap(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("labelMapId", () => ID, { nullable: true }) labelMapId: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return toModel(await ctx.services.labelMaps.setModelLabelMap(ctx.caller, modelId, labelMapId));
  }

  @Query(() => LabelMap, { nullable: true })
  labelMap(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.labelMaps.get(ctx.caller, id);
  }

  @Query(() => [LabelMap], { description: "the group's label maps, newest first (at most 500)" })
  labelMaps(@Ctx() ctx: GraphQLContext) {
    return ctx.services.labelMaps.list(ctx.caller);
  }

  @FieldResolver(() => Int)
  categoryCount(@Root() map: LabelMap) {
    return map.categoryNames.length;
  }
}

@Resolver(() => Model)
export class ModelLabelMapResolver {
  @FieldResolver(() => LabelMap, { nullable: true, description: "the label map its decisions are scored in (setModelLabelMap), or null" })
  labelMap(@Root() model: Model, @Ctx() ctx: GraphQLContext) {
    return ctx.services.labelMaps.forModel(model.id);
  }
}
