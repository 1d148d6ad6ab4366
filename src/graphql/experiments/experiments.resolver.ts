import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { CreateExperimentInput, DemographicsImport, Experiment, ExperimentCreation, ExperimentImport, ExperimentResults, ImportExperimentResponsesInput } from "./experiments.types.js";

@Resolver()
export class ExperimentResolver {
  @Query(() => Experiment, { description: "An experiment of the caller's group: design, expected trials per condition, participants and their trial lists" })
  experiment(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.describe(ctx.caller, id);
  }

  @Query(() => [Experiment], { description: "The group's experiments, newest first" })
  experiments(@Arg("first", () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.listViews(ctx.caller, first);
  }

  @Query(() => ExperimentResults, { description: "Trial-level and aggregate CSV of an experiment's results" })
  experimentResults(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.results(ctx.caller, id);
  }

  @Mutation(() => ExperimentCreation, {
    description: "MEMBER: design an experiment from synthesis batches and issue one participation link per participant (tokens shown once)",
  })
  createExperiment(@Arg("input", () => CreateExperimentInput) input: CreateExperimentInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.createView(ctx.caller, input);
  }

  @Mutation(() => Experiment, { description: "MEMBER: close an experiment: its links and entry URL take no new participant" })
  closeExperiment(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.close(ctx.caller, id);
  }

  @Mutation(() => ExperimentImport, { description: "MEMBER: import trial data run elsewhere (jsPsych JSON/CSV, PsychoJS CSV); a bad file names the row and column and nothing is imported" })
  importExperimentResponses(@Arg("input", () => ImportExperimentResponsesInput) input: ImportExperimentResponsesInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.importResponses(ctx.caller, input.experimentId, input);
  }

  @Mutation(() => DemographicsImport, { description: "MEMBER: a Prolific demographic export, joined on the participants' Prolific ids" })
  importProlificDemographics(@Arg("experimentId", () => ID) experimentId: string, @Arg("csv") csv: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.experiments.importDemographics(ctx.caller, experimentId, csv);
  }
}
