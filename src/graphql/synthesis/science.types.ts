// Typed science objects (issue 13 item 4): the certificate, the synthesis config and the history as GraphQL types.
import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Augmentation, MetricValues, NullSourceKindEnum } from "./reference-null.types.js";

export enum ValidationMetricEnum {
  spearman = "spearman",
  pearson = "pearson",
  snr = "snr",
}
registerEnumType(ValidationMetricEnum, { name: "ValidationMetric", description: "Spearman's rho, Pearson's r, SNR (dB)" });

@ObjectType({ description: "Where a certificate's null distribution came from" })
export class NullSource {
  @Field(() => NullSourceKindEnum) kind: NullSourceKindEnum;
  @Field(() => ID, { nullable: true }) referenceNullId: string | null;
  @Field(() => ID, { nullable: true, description: "the stimulus set the pairs were drawn from" }) setId: string | null;
  @Field(() => Augmentation, { nullable: true }) augmentation: Augmentation | null;
  @Field(() => Int, { description: "pairs requested" }) n: number;
  @Field(() => Int) seed: number;
}

@ObjectType({ description: "One metric's verdict: fails only below the null maximum (the authors' rule)" })
export class MetricVerdict {
  @Field(() => ValidationMetricEnum) metric: ValidationMetricEnum;
  @Field(() => Float, { nullable: true, description: "the metamer's value (null: infinite SNR)" }) value: number | null;
  @Field(() => Float, { nullable: true, description: "the null maximum (null: infinite SNR)" }) nullMax: number | null;
  @Field() passed: boolean;
  @Field({ description: "the null maximum sat at the metric's ceiling (rho = 1): passing says nothing here" }) uninformative: boolean;
}

@ObjectType({ description: "A metamer's validation certificate (docs/science.md §3)" })
export class Certificate {
  @Field(() => MetricValues, { description: "metamer vs natural at the generation stage" }) similarity: MetricValues;
  @Field(() => [MetricVerdict]) metrics: MetricVerdict[];
  @Field(() => Int, { description: "pairs the null measured" }) nullPairs: number;
  @Field(() => Int) nullSeed: number;
  @Field(() => MetricValues) nullMaxima: MetricValues;
  @Field(() => NullSource) nullSource: NullSource;
  @Field() passedNull: boolean;
  @Field(() => [ValidationMetricEnum], { description: "metrics whose null maximum sat at the ceiling" }) uninformative: ValidationMetricEnum[];
  @Field({ description: "the null had < 10,000 pairs or was drawn from the synthesis set itself" }) underpowered: boolean;
  @Field() naturalLabel: string;
  @Field({ description: "the generating model's label of the saved rendering" }) metamerLabel: string;
  @Field() passedLabel: boolean;
  @Field() passed: boolean;
}

@ObjectType({ description: "A synthesis configuration as resolved (recipe defaults filled in)" })
export class SynthesisConfig {
  @Field() recipe: string;
  @Field(() => Int, { nullable: true }) rounds: number | null;
  @Field(() => Int, { nullable: true }) stepsPerRound: number | null;
  @Field(() => Float, { nullable: true }) initialStep: number | null;
  @Field(() => Int, { nullable: true }) historyEvery: number | null;
  @Field(() => String, { nullable: true }) loss: string | null;
  @Field(() => Int, { nullable: true }) maxSteps: number | null;
  @Field(() => Float, { nullable: true }) learningRate: number | null;
  @Field(() => Float, { nullable: true }) beta1: number | null;
  @Field(() => Float, { nullable: true }) beta2: number | null;
  @Field(() => Float, { nullable: true }) epsilon: number | null;
  @Field(() => Float, { nullable: true }) rangePenalty: number | null;
  @Field(() => Int, { nullable: true }) stopWindow: number | null;
  @Field(() => Float, { nullable: true }) stopTolerance: number | null;
  @Field(() => NullSource, { nullable: true, description: "the reference null; null: each stimulus set's own pairs" }) nullSource: NullSource | null;
  @Field(() => [Int], { nullable: true, description: "the batch's seeds when it made several metamers per target" }) seeds: number[] | null;
}

@ObjectType({ description: "One recorded step of a synthesis, or the final entry" })
export class HistoryPoint {
  @Field(() => Int) iteration: number;
  @Field(() => Float, { nullable: true }) loss: number | null;
  @Field(() => Float, { nullable: true }) gradientNorm: number | null;
  @Field(() => Float, { nullable: true }) stepSize: number | null;
  @Field({ description: "the entry after the loop: the last iterate's loss and the stop reason" }) final: boolean;
  @Field(() => String, { nullable: true }) stopReason: string | null;
}

@ObjectType()
export class SoftwareVersion {
  @Field() name: string;
  @Field() version: string;
}
