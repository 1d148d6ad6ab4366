import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";

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

@Resolver()
export class StudyResolver {
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
