import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import {
  CurvePoint, Idiosyncrasy, MatrixCell, ObserverEnum, PermutationTest, Recognizability, ResultSourceArgs, StudyModalityEnum,
} from "./metrics.types.js";

@Resolver()
export class MetricsResolver {
  @Query(() => Recognizability, {
    description: "How well an observer recognizes a model's metamers at one stage (a tensor name or label; 'FINAL' = the last)",
  })
  recognizability(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("stage") stage: string,
    @Arg("observer", () => ObserverEnum) observer: ObserverEnum,
    @Arg("recognizerId", () => ID, { nullable: true }) recognizerId: string | null,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Arg("resamples", () => Int, { defaultValue: 1000 }) resamples: number,
    @Args(() => ResultSourceArgs) source: ResultSourceArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.metrics.recognizability(ctx.caller, { modelId, stage, observer, recognizerId, seed, resamples, ...source });
  }

  @Query(() => [CurvePoint], { description: "One point per stage in network order, natural stimuli first" })
  recognizabilityCurve(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("observer", () => ObserverEnum) observer: ObserverEnum,
    @Arg("recognizerId", () => ID, { nullable: true }) recognizerId: string | null,
    @Args(() => ResultSourceArgs) source: ResultSourceArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.metrics.recognizabilityCurve(ctx.caller, { modelId, observer, recognizerId, ...source });
  }

  @Query(() => [MatrixCell], { description: "Accuracy of each recognizer on each generator's validated metamers (pairs without data are absent)" })
  crossModelMatrix(
    @Arg("generatorIds", () => [ID]) generatorIds: string[],
    @Arg("recognizerIds", () => [ID], { nullable: true, description: "the recognizers; or panelId; neither: every recognizer with results" })
    recognizerIds: string[] | null,
    @Arg("stage", { defaultValue: "FINAL", description: "a tensor name or stage label, or FINAL for each generator's last stage" }) stage: string,
    @Args(() => ResultSourceArgs) source: ResultSourceArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.metrics.crossModelMatrix(ctx.caller, { generatorIds, recognizerIds, stage, ...source });
  }

  @Query(() => Idiosyncrasy, { description: "Human vs other-model recognizability across (model, stage) points" })
  idiosyncrasy(
    @Arg("modality", () => StudyModalityEnum) modality: StudyModalityEnum,
    @Arg("excludeStages", () => [String], { nullable: true, description: "glob patterns; default natural_*, input_after_preproc" })
    excludeStages: string[] | null,
    @Arg("studyId", () => ID, { nullable: true }) studyId: string | null,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Arg("resamples", () => Int, { defaultValue: 1000 }) resamples: number,
    @Args(() => ResultSourceArgs) source: ResultSourceArgs,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.metrics.idiosyncrasy(ctx.caller, { modality, excludeStages, studyId, seed, resamples, ...source });
  }

  @Query(() => PermutationTest, { description: "Model A vs model B: permutation ANOVA (model x stage) over participants" })
  compareRecognizability(
    @Arg("modelA", () => ID) modelA: string,
    @Arg("modelB", () => ID) modelB: string,
    @Arg("observer", () => ObserverEnum, { defaultValue: ObserverEnum.HUMAN }) observer: ObserverEnum,
    @Arg("permutations", () => Int, { defaultValue: 10000 }) permutations: number,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.metrics.compareRecognizability(ctx.caller, { modelA, modelB, observer, permutations, seed });
  }

  @Mutation(() => [ID], {
    description: "MEMBER: classify, in background RECOGNITION jobs, every metamer and natural stimulus of the group this model has not seen yet; returns the job ids",
  })
  recognizeBacklog(@Arg("modelId", () => ID) modelId: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.recognition.recognizeBacklog(ctx.caller, modelId);
  }
}
