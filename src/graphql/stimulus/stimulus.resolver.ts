import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { AddedStimulus } from "../../services/stimuli.js";
import type { GraphQLContext } from "../context.js";
import { toConnection } from "../relay.js";
import {
  AddStimuliInput,
  CreateStimulusSetInput,
  Stimulus,
  StimulusConnection,
  StimulusSet,
  StimulusSetConnection,
  StimulusSetFilter,
  StimulusTensor,
} from "./stimulus.types.js";

const asStimulus = (s: object) => s as Stimulus;

@Resolver(() => StimulusSet)
export class StimulusSetResolver {
  @Mutation(() => StimulusSet, { description: "MEMBER: a new stimulus set" })
  createStimulusSet(@Arg("input", () => CreateStimulusSetInput) input: CreateStimulusSetInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.createSet(ctx.caller, input);
  }

  @Mutation(() => [Stimulus], { description: "MEMBER: add PNG/JPEG images or WAV sounds to a set" })
  addStimuli(@Arg("input", () => AddStimuliInput) input: AddStimuliInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.addStimuli(ctx.caller, input);
  }

  @Query(() => StimulusSet, { nullable: true })
  stimulusSet(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.getSet(ctx.caller, id);
  }

  @Query(() => StimulusSetConnection, { description: "the group's sets, newest first" })
  async stimulusSets(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("filter", () => StimulusSetFilter, { nullable: true }) filter?: StimulusSetFilter,
  ) {
    return toConnection(await ctx.services.stimuli.listSets(ctx.caller, { first, after, filter }), (s) => s, !!after);
  }

  @Query(() => Stimulus, { nullable: true })
  stimulus(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.stimuli.getStimulus(ctx.caller, id);
  }

  @FieldResolver(() => StimulusConnection, { description: "in the order they were added" })
  async stimuli(
    @Root() set: StimulusSet,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("label", () => String, { nullable: true }) label?: string,
  ) {
    return toConnection(await ctx.services.stimuli.listStimuli(ctx.caller, set.id, { first, after, label }), asStimulus, !!after);
  }
}

@Resolver(() => Stimulus)
export class StimulusResolver {
  @FieldResolver(() => [Int], { description: "shape of its model-input tensor (from addStimuli: the one just made; else the first of `tensors`)" })
  async shape(@Root() s: Stimulus & Partial<AddedStimulus>, @Ctx() ctx: GraphQLContext) {
    if (s.shape) return s.shape;
    return (await ctx.services.stimuli.tensors(s.id))[0]?.shape ?? [];
  }

  @FieldResolver(() => [StimulusTensor])
  async tensors(@Root() s: Stimulus, @Ctx() ctx: GraphQLContext) {
    return (await ctx.services.stimuli.tensors(s.id)).map((t) => ({ shape: t.shape, sha256: t.blobSha256 }));
  }
}
