import { Arg, Ctx, Field, Float, ID, InputType, Mutation, ObjectType, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { UploadPurposeEnum } from "../enums.js";

@ObjectType()
export class HttpHeader {
  @Field() name: string;
  @Field() value: string;
}

@ObjectType({ description: "Where and how to PUT the bytes; then pass `id` as uploadId" })
export class UploadTicket {
  @Field(() => ID) id: string;
  @Field() url: string;
  @Field(() => [HttpHeader]) headers: HttpHeader[];
  @Field(() => Date) expiresAt: Date;
}

@InputType()
export class CreateUploadInput {
  @Field(() => UploadPurposeEnum) purpose: UploadPurposeEnum;
  @Field(() => Float, { description: "exact size of the file in bytes" }) byteSize: number;
  @Field({ description: "sha256 of the file, hex" }) sha256: string;
}

@Resolver()
export class UploadResolver {
  @Mutation(() => UploadTicket, { description: "MEMBER: start a two-step upload for a large file" })
  createUpload(@Arg("input", () => CreateUploadInput) input: CreateUploadInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.uploads.create(ctx.caller, input);
  }
}
