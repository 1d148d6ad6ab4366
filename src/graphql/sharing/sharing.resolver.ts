import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from "type-graphql";
import { ShareObjectKind, ShareTargetKind, type ShareView } from "../../services/views.js";
import type { GraphQLContext } from "../context.js";
import { ConnectionType, toConnection } from "../relay.js";

export enum ShareState {
  ACTIVE = "ACTIVE",
  EMBARGOED = "EMBARGOED",
  REVOKED = "REVOKED",
}

registerEnumType(ShareObjectKind, { name: "ShareObjectKind", description: "what can be shared: a batch brings its metamers and their results" });
registerEnumType(ShareTargetKind, {
  name: "ShareTargetKind",
  description: "GROUP: one group of this hub; HUB: every group of this hub; PARTNER: a group of a consortium (partner tokens)",
});
registerEnumType(ShareState, { name: "ShareState", description: "at the time of the request" });

@InputType({ description: "Who a share is for: `group` for GROUP, `consortiumId` and `partnerGroup` for PARTNER, nothing for HUB" })
export class ShareTargetInput {
  @Field(() => ShareTargetKind) kind: ShareTargetKind;
  @Field(() => String, { nullable: true, description: "GROUP: the name of a group of this hub" }) group?: string | null;
  @Field(() => String, { nullable: true, description: "PARTNER: the consortium's id, as its tokens state it" }) consortiumId?: string | null;
  @Field(() => String, { nullable: true, description: "PARTNER: the group's name in the consortium" }) partnerGroup?: string | null;
}

@InputType()
export class ShareInput {
  @Field(() => ShareObjectKind) kind: ShareObjectKind;
  @Field(() => ID, { description: "the object's id; it must belong to the caller's group" }) id: string;
  @Field(() => ShareTargetInput) target: ShareTargetInput;
  @Field(() => Date, { nullable: true, description: "visible to the target only from this instant on (null: at once)" })
  embargoUntil?: Date | null;
}

@ObjectType()
export class ShareTarget {
  @Field(() => ShareTargetKind) kind: ShareTargetKind;
  @Field(() => ID, { nullable: true }) groupId: string | null;
  @Field(() => String, { nullable: true }) groupName: string | null;
  @Field(() => String, { nullable: true }) consortiumId: string | null;
  @Field(() => String, { nullable: true }) partnerGroup: string | null;
}

@ObjectType({ description: "Read-only access to one of the group's objects, for a target, optionally from a date on" })
export class Share {
  @Field(() => ID) id: string;
  @Field(() => ShareObjectKind) objectKind: ShareObjectKind;
  @Field(() => ID) objectId: string;
  @Field(() => ShareTarget) target: ShareTarget;
  @Field(() => Date, { nullable: true }) embargoUntil: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt: Date | null;
  @Field(() => Date) createdAt: Date;
  @Field(() => ShareState) state: ShareState;
}

const ShareConnection = ConnectionType(Share, "Share");

const toShare = (s: ShareView): Share => ({
  id: s.id,
  objectKind: s.objectKind,
  objectId: s.objectId,
  target: { kind: s.targetKind, groupId: s.targetGroupId, groupName: s.targetGroupName, consortiumId: s.consortiumId, partnerGroup: s.partnerGroup },
  embargoUntil: s.embargoUntil,
  revokedAt: s.revokedAt,
  createdAt: s.createdAt,
  state: s.state as ShareState,
});

@Resolver()
export class SharingResolver {
  @Mutation(() => Share, { description: "MEMBER: share one of the group's objects read-only (again with the same target: changes the embargo)" })
  async share(@Arg("input", () => ShareInput) input: ShareInput, @Ctx() ctx: GraphQLContext) {
    return toShare(await ctx.services.sharing.share(ctx.caller, input));
  }

  @Mutation(() => Share, { description: "MEMBER: revoke one of the group's shares; the object is hidden from the target at once" })
  async revokeShare(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return toShare(await ctx.services.sharing.revokeShare(ctx.caller, id));
  }

  @Query(() => ShareConnection, { description: "the group's own shares, newest first (revoked ones with includeRevoked)" })
  async shares(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true }) first?: number,
    @Arg("after", () => String, { nullable: true }) after?: string,
    @Arg("kind", () => ShareObjectKind, { nullable: true }) kind?: ShareObjectKind,
    @Arg("id", () => ID, { nullable: true, description: "only the shares of this object" }) id?: string,
    @Arg("includeRevoked", () => Boolean, { nullable: true }) includeRevoked?: boolean,
  ) {
    return toConnection(await ctx.services.sharing.shares(ctx.caller, { first, after, kind, id, includeRevoked }), toShare, !!after);
  }
}
