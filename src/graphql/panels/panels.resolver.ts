import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { RecognizerPanel, StageLabelInput } from "../metrics/metrics.types.js";
import { Model, toModel } from "../model/model.types.js";

@Resolver(() => RecognizerPanel)
export class RecognizerPanelResolver {
  @Mutation(() => RecognizerPanel, {
    description: "MEMBER: version n+1 of the recognizer panel `name` (1 when new); the same list as the newest version returns it",
  })
  createRecognizerPanel(@Arg("name") name: string, @Arg("modelIds", () => [ID]) modelIds: string[], @Ctx() ctx: GraphQLContext) {
    return ctx.services.panels.create(ctx.caller, name, modelIds);
  }

  @Query(() => RecognizerPanel, { nullable: true })
  recognizerPanel(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.panels.get(ctx.caller, id);
  }

  @Query(() => [RecognizerPanel], { description: "the group's panels, every version, newest first" })
  recognizerPanels(
    @Arg("name", () => String, { nullable: true, description: "one panel's versions" }) name: string | null,
    @Arg("first", () => Int, { defaultValue: 100 }) first: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.panels.list(ctx.caller, { name, first });
  }

  @FieldResolver(() => Int)
  modelCount(@Root() panel: RecognizerPanel) {
    return panel.modelIds.length;
  }
}

@Resolver()
export class StageLabelResolver {
  @Mutation(() => Model, {
    description: "MEMBER: replace the model's stage labels (metadata: results are stored by tensor name, so none changes)",
  })
  async setStageLabels(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("labels", () => [StageLabelInput]) labels: StageLabelInput[],
    @Ctx() ctx: GraphQLContext,
  ) {
    return toModel(await ctx.services.stages.setStageLabels(ctx.caller, modelId, labels));
  }
}
