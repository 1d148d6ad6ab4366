import { Ctx, Field, ObjectType, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";

@ObjectType()
export class Health {
  @Field({ description: "true when the service and its database answer" }) ok: boolean;
  @Field({ description: "true when the database answered a query" }) database: boolean;
  @Field({ description: "the service version" }) version: string;
}

@Resolver()
export class HealthResolver {
  @Query(() => Health, { description: "Liveness; needs no API key." })
  health(@Ctx() ctx: GraphQLContext): Promise<Health> {
    return ctx.services.health.check();
  }
}
