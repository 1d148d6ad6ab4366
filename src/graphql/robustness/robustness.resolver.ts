import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../context.js";
import { EvaluateRobustnessInput, RobustnessEvaluation } from "./robustness.types.js";

// Adversarial robustness per model (issue 12 item 8).
@Resolver(() => RobustnessEvaluation)
export class RobustnessResolver {
  @Mutation(() => RobustnessEvaluation, {
    description: "MEMBER: untargeted PGD on every stimulus of a set at each epsilon, as background ROBUSTNESS jobs; returns the evaluation at once (PENDING)",
  })
  evaluateRobustness(@Arg("input", () => EvaluateRobustnessInput) input: EvaluateRobustnessInput, @Ctx() ctx: GraphQLContext) {
    return ctx.services.robustness.evaluate(ctx.caller, input);
  }

  @Query(() => [RobustnessEvaluation], { description: "The group's robustness evaluations of a model, newest first, with progress and per-epsilon robust accuracy" })
  robustness(@Arg("modelId", () => ID) modelId: string, @Arg("first", () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: GraphQLContext) {
    return ctx.services.robustness.list(ctx.caller, { modelId, first });
  }
}
