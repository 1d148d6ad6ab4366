import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import { IssuedApiKey } from "../auth/auth.resolver.js";
import type { GraphQLContext } from "../context.js";

@ObjectType({ description: "A lab on this hub: every object belongs to one group" })
export class GroupInfo {
  @Field(() => ID) id: string;
  @Field({ description: "the name shares and the CLI use" }) name: string;
  @Field(() => Date) createdAt: Date;
  @Field(() => Int, { description: "keys neither revoked nor expired" }) activeKeys: number;
}

@ObjectType()
export class CreatedGroup {
  @Field(() => GroupInfo) group: GroupInfo;
  @Field(() => IssuedApiKey, { description: "the group's first ADMIN key; its secret is shown only now" }) adminKey: IssuedApiKey;
}

@Resolver()
export class GroupsResolver {
  @Query(() => [GroupInfo], { description: "the hub's groups, oldest first (any key: shares name groups)" })
  groups(@Ctx() ctx: GraphQLContext, @Arg("first", () => Int, { nullable: true, description: "at most (default 100)" }) first?: number) {
    return ctx.services.auth.listGroups(ctx.caller, first);
  }

  @Mutation(() => CreatedGroup, { description: "instance admin: a new group and its first ADMIN key" })
  createGroup(@Arg("name") name: string, @Ctx() ctx: GraphQLContext, @Arg("keyName", () => String, { nullable: true }) keyName?: string) {
    return ctx.services.auth.createGroup(ctx.caller, name, keyName ?? undefined);
  }
}
