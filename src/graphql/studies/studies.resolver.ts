import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { PermutationTest } from "../metrics/metrics.types.js";

@ObjectType({ description: "A published study imported as external data" })
export class Study {
  @Field(() => ID) id: string;
  @Field() key: string;
  @Field() name: string;
  @Field() source: string;
  @Field(() => Date) importedAt: Date;
  @Field(() => Int) models: number;
  @Field(() => Int) humanScores: number;
  @Field(() => Int) crossModelResults: number;
}

@InputType({ description: "Where the import lands and, optionally, the released files' contents" })
export class ImportFeather2023Input {
  @Field({ nullable: true, description: "a group's name; default the caller's group; another group needs ADMIN" })
  group?: string;
  @Field({ nullable: true, description: "contents of human_recognizability.csv (with crossModelRecognitionCsv, or neither: the server's copy)" })
  humanRecognizabilityCsv?: string;
  @Field({ nullable: true, description: "contents of cross_model_recognition.csv" })
  crossModelRecognitionCsv?: string;
}

@ObjectType()
export class StudyImport {
  @Field(() => ID) studyId: string;
  @Field(() => ID, { description: "the group the study was imported into" }) groupId: string;
  @Field() groupName: string;
  @Field() key: string;
  @Field({ description: "false when the study was already there (then normally nothing is inserted)" }) created: boolean;
  @Field(() => Int) models: number;
  @Field(() => Int) humanScores: number;
  @Field(() => Int) humanScoresInserted: number;
  @Field(() => Int) crossModelResults: number;
  @Field(() => Int) crossModelResultsInserted: number;
  @Field(() => Int) elapsedMs: number;
}

@ObjectType({ description: "Humans vs the generating model: the authors' mixed ANOVA (observer between subjects, stage within)" })
export class HumanVsModelTest extends PermutationTest {
  @Field(() => String, { nullable: true, description: "the experiment tested; null: participants of every experiment pooled" })
  experiment: string | null;
}

@Resolver()
export class StudyResolver {
  @Query(() => HumanVsModelTest, {
    description:
      "Humans vs the generating model: mixed ANOVA (observer between, stage within) with the authors' permutation scheme; subjects counts participants (each gives a human and a network row)",
  })
  humanVsModel(
    @Arg("modelId", () => ID) modelId: string,
    @Arg("experiment", () => String, { nullable: true, description: "one experiment of the imported study; default: all, pooled" }) experiment: string | null,
    @Arg("permutations", () => Int, { defaultValue: 10000 }) permutations: number,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.studies.humanVsModel(ctx.caller, { modelId, experiment, permutations, seed });
  }

  @Query(() => [Study], { description: "The group's imported studies" })
  studies(@Ctx() ctx: GraphQLContext) {
    return ctx.services.studies.list(ctx.caller);
  }

  @Mutation(() => StudyImport, {
    description:
      "MEMBER: import Feather et al. (2023)'s released data (the files sent, or the server's copy) as reference models, human scores and cross-model results into the caller's group (ADMIN: any named group); idempotent",
  })
  importFeather2023(
    @Arg("input", () => ImportFeather2023Input, { nullable: true }) input: ImportFeather2023Input | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.studies.importFeather2023(ctx.caller, input ?? {});
  }
}
