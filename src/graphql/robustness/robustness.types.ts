import { JSONObjectResolver } from "graphql-scalars";
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";

export enum PgdNormEnum {
  L2 = "L2",
  LINF = "LINF",
}
registerEnumType(PgdNormEnum, { name: "PgdNorm", description: "L2: normalised-gradient steps, projection onto the L2 ball; LINF: sign steps, per-value clamp" });

export enum RobustnessStatusEnum {
  PENDING = "PENDING",
  RUNNING = "RUNNING",
  READY = "READY",
  FAILED = "FAILED",
}
registerEnumType(RobustnessStatusEnum, { name: "RobustnessStatus", description: "READY once every job of the evaluation succeeded and the results are written" });

@InputType({ description: "An untargeted PGD evaluation (cross-entropy of the true label). Defaults: the demo manifest's attack (L2, eps 2, 20 steps of 0.25, random start, seed 0)" })
export class EvaluateRobustnessInput {
  @Field(() => ID) modelId: string;
  @Field(() => ID, { description: "every stimulus is attacked; its label must be one of the model's classes" }) stimulusSetId: string;
  @Field(() => PgdNormEnum, { nullable: true, description: "default L2" }) norm?: PgdNormEnum | null;
  @Field(() => [Float], { nullable: true, description: "attack radii in the model's input units, 1 to 16 distinct values >= 0 (0 = clean accuracy); default [2]" })
  epsilons?: number[] | null;
  @Field(() => Int, { nullable: true, description: "PGD steps, 1 to 1,000; default 20" }) steps?: number | null;
  @Field(() => Float, { nullable: true, description: "step length (L2) or per-value step (LINF), > 0; default 0.25" }) stepSize?: number | null;
  @Field(() => Boolean, { nullable: true, description: "start at a random point of the ball (L2: on its sphere; LINF: uniform); default true" })
  randomStart?: boolean | null;
  @Field(() => Int, { nullable: true, description: "seeds the random starts and the bootstrap; default 0" }) seed?: number | null;
}

@ObjectType({ description: "Robust accuracy at one epsilon" })
export class RobustnessResult {
  @Field(() => Float) epsilon: number;
  @Field(() => Float, { description: "fraction of the stimuli whose adversarial example is still classified as their label" }) accuracy: number;
  @Field(() => Float, { description: "percentile bootstrap 95% CI over stimuli (seeded by the evaluation's seed)" }) low: number;
  @Field(() => Float) high: number;
  @Field(() => Int) n: number;
  @Field(() => Int) resamples: number;
}

@ObjectType({ description: "One robustness evaluation of a model on a stimulus set" })
export class RobustnessEvaluation {
  @Field(() => ID) id: string;
  @Field(() => ID) modelId: string;
  @Field(() => ID) setId: string;
  @Field(() => PgdNormEnum) norm: PgdNormEnum;
  @Field(() => [Float]) epsilons: number[];
  @Field(() => Int) steps: number;
  @Field(() => Float) stepSize: number;
  @Field() randomStart: boolean;
  @Field(() => Int) seed: number;
  @Field({ description: "sha256 of the ONNX file attacked" }) modelSha256: string;
  @Field(() => JSONObjectResolver, { description: "what computed it (service, onnxruntime, execution provider, device)" }) software: Record<string, unknown>;
  @Field(() => Int, { description: "stimuli attacked" }) n: number;
  @Field(() => RobustnessStatusEnum) status: RobustnessStatusEnum;
  @Field(() => Int, { description: "ROBUSTNESS jobs finished" }) jobsDone: number;
  @Field(() => Int) jobsTotal: number;
  @Field(() => String, { nullable: true }) error: string | null;
  @Field(() => [RobustnessResult], { name: "results", description: "per epsilon, in the order asked; empty until READY" }) resultList: RobustnessResult[];
  @Field() createdAt: Date;
  @Field(() => Date, { nullable: true }) completedAt: Date | null;
}
