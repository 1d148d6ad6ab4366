import { Field, ID, ObjectType } from "type-graphql";
import { JSONObjectResolver } from "graphql-scalars";

@ObjectType({ description: "A named mapping from a model's class labels to a coarser label set (createLabelMap; force_16_choice)" })
export class LabelMap {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => [String], { description: "the categories, in the uploaded order" }) categoryNames: string[];
  @Field(() => JSONObjectResolver, { description: "category -> its class labels, as uploaded" }) categories: Record<string, string[]>;
  @Field() createdAt: Date;
}
