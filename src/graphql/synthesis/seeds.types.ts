import { Field, Float, ID, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "Mean and sample standard deviation across a target's seeds" })
export class SeedSpread {
  @Field(() => Float, { nullable: true }) mean: number | null;
  @Field(() => Float, { nullable: true, description: "null below 2 values" }) std: number | null;
  @Field(() => Int) n: number;
}

@ObjectType()
export class TargetMetamer {
  @Field(() => ID) id: string;
  @Field(() => Int) seed: number;
  @Field() passed: boolean;
  @Field(() => Float, { nullable: true, description: "other models' accuracy on it (null before any recognized it)" }) recognizability: number | null;
}

@ObjectType({ description: "The metamers of one target (stimulus, stage) across a batch's seeds, and their spread" })
export class MetamerTarget {
  @Field(() => ID) stimulusId: string;
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => String, { nullable: true }) stageLabel: string | null;
  @Field(() => [TargetMetamer], { description: "in seed order" }) metamers: TargetMetamer[];
  @Field(() => Float, { nullable: true, description: "mean over seed pairs of the RMS difference of the input tensors" }) pixelDistance: number | null;
  @Field(() => SeedSpread, { description: "of the metamers' Spearman rho with the natural stimulus at the stage" }) spearman: SeedSpread;
  @Field(() => SeedSpread, { description: "of their Pearson r at the stage" }) pearson: SeedSpread;
  @Field(() => SeedSpread, { description: "of their SNR (dB) at the stage" }) snr: SeedSpread;
  @Field(() => SeedSpread, { description: "of other models' accuracy on each" }) recognizability: SeedSpread;
}
