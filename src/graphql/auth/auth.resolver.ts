import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { RoleEnum } from "../enums.js";

@ObjectType({ description: "The caller, as identified by its API key" })
export class Me {
  @Field(() => ID) groupId: string;
  @Field() groupName: string;
  @Field(() => RoleEnum) role: RoleEnum;
  @Field(() => ID) apiKeyId: string;
  @Field({ description: "the hub operator's key: may create groups" }) instanceAdmin: boolean;
}

@ObjectType()
export class ApiKeyInfo {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field({ description: "the first characters of the key, to tell keys apart" }) prefix: string;
  @Field(() => RoleEnum) role: RoleEnum;
  @Field() instanceAdmin: boolean;
  @Field(() => Date, { nullable: true, description: "refused from this instant on; null: never" }) expiresAt: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt: Date | null;
  @Field(() => Date, { nullable: true }) lastUsedAt: Date | null;
  @Field(() => Date) createdAt: Date;
}

@ObjectType()
export class IssuedApiKey {
  @Field(() => ID) id: string;
  @Field({ description: "the secret; shown only now, stored hashed" }) key: string;
  @Field() prefix: string;
  @Field(() => RoleEnum) role: RoleEnum;
  @Field() instanceAdmin: boolean;
  @Field(() => Date, { nullable: true }) expiresAt: Date | null;
}

@Resolver()
export class AuthResolver {
  @Query(() => Me)
  me(@Ctx() ctx: GraphQLContext) {
    return ctx.services.auth.whoAmI(ctx.caller);
  }

  @Query(() => [ApiKeyInfo], { description: "ADMIN: the group's API keys" })
  apiKeys(@Ctx() ctx: GraphQLContext) {
    return ctx.services.auth.listApiKeys(ctx.caller);
  }

  @Mutation(() => IssuedApiKey, { description: "ADMIN: a new API key for the caller's group (the secret is returned only now)" })
  createApiKey(
    @Arg("name", { description: "a label to tell keys apart" }) name: string,
    @Arg("role", () => RoleEnum) role: RoleEnum,
    @Ctx() ctx: GraphQLContext,
    @Arg("expiresAt", () => Date, { nullable: true, description: "refused from this instant on (must be in the future)" }) expiresAt?: Date,
    @Arg("instanceAdmin", () => Boolean, { nullable: true, description: "instance admins only: the new key is one too" }) instanceAdmin?: boolean,
  ) {
    return ctx.services.auth.createApiKey(ctx.caller, name, role, { expiresAt, instanceAdmin });
  }

  @Mutation(() => Boolean, { description: "ADMIN: revoke one of the group's API keys" })
  revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.auth.revokeApiKey(ctx.caller, id);
  }
}
