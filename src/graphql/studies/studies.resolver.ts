import { Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from "type-graphql";
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

@ObjectType()
export class StudyImport {
  @Field(() => ID) studyId: string;
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
    description: "MEMBER: import Feather et al. (2023)'s released data (shipped with the server) as reference models, human scores and cross-model results; idempotent",
  })
  importFeather2023(@Ctx() ctx: GraphQLContext) {
    return ctx.services.studies.importFeather2023(ctx.caller);
  }
}
