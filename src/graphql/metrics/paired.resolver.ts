import { Arg, Ctx, Field, Float, Int, ObjectType, Query, Resolver } from "type-graphql";
import { pairedDifferenceTest } from "../../services/metrics/paired-test.js";
import type { GraphQLContext } from "../context.js";

@ObjectType({ description: "A paired comparison: sign-flip permutation test and bootstrap CI of the mean of per-unit differences" })
export class PairedTest {
  @Field(() => Int, { description: "units (pairs)" }) n: number;
  @Field(() => Float, { description: "mean of the differences (A - B)" }) meanDifference: number;
  @Field(() => Float, { description: "two-sided permutation p-value" }) p: number;
  @Field(() => Int, { description: "sign vectors evaluated: random draws, or 2^n when exact" }) permutations: number;
  @Field({ description: "true when every sign vector was enumerated (2^n <= permutations)" }) exact: boolean;
  @Field(() => Float, { description: "bootstrap percentile CI of the mean difference, lower end" }) low: number;
  @Field(() => Float) high: number;
  @Field(() => Float, { description: "the CI's level (0.95)" }) level: number;
  @Field(() => Int) resamples: number;
  @Field(() => Int) seed: number;
}

@Resolver()
export class PairedTestResolver {
  @Query(() => PairedTest, {
    description: "Paired differences (A - B per unit, e.g. per stimulus) -> two-sided sign-flip permutation test and bootstrap 95% CI of their mean",
  })
  pairedDifferenceTest(
    @Arg("differences", () => [Float], { description: "one difference per unit, 1 to 100,000" }) differences: number[],
    @Arg("permutations", () => Int, { defaultValue: 10000 }) permutations: number,
    @Arg("resamples", () => Int, { defaultValue: 1000 }) resamples: number,
    @Arg("seed", () => Int, { defaultValue: 0 }) seed: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return pairedDifferenceTest(ctx.services.statsPool, ctx.caller, { differences, permutations, resamples, seed });
  }
}
