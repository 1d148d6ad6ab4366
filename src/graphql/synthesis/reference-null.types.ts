import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";

export enum ReferenceNullStatusEnum {
  PENDING = "PENDING",
  RUNNING = "RUNNING",
  READY = "READY",
  FAILED = "FAILED",
}
registerEnumType(ReferenceNullStatusEnum, { name: "ReferenceNullStatus", description: "READY once its job measured every pair" });

export enum NullSourceKindEnum {
  REFERENCE = "REFERENCE",
  SYNTHESIS_SET = "SYNTHESIS_SET",
}
registerEnumType(NullSourceKindEnum, {
  name: "NullSourceKind",
  description: "REFERENCE: a model-level reference null of a designated set; SYNTHESIS_SET: pairs of the metamer's own stimulus set (underpowered)",
});

@InputType({ description: "SNR range (dB) of the noise added to each audio view" })
export class SnrRangeInput {
  @Field(() => Float) min: number;
  @Field(() => Float) max: number;
}

@InputType({ description: "Augmentation of each reference view (seeded); leave every field unset for none" })
export class AugmentationInput {
  @Field(() => Float, { nullable: true, description: "images: random resized crop, area fraction drawn from [cropMinScale, 1], aspect 3/4 to 4/3" })
  cropMinScale?: number | null;
  @Field(() => Boolean, { nullable: true, description: "images: mirror left-right with probability 1/2" }) flip?: boolean | null;
  @Field(() => Float, { nullable: true, description: "images: brightness and contrast factors from [1 - jitter, 1 + jitter] (0 to 0.5)" })
  jitter?: number | null;
  @Field(() => SnrRangeInput, { nullable: true, description: "audio: white noise at an SNR drawn from [min, max] dB" }) noiseSnrDb?: SnrRangeInput | null;
}

@InputType({ description: "A reference null: an existing one (referenceNullId: its set, augmentation, n, seed) or a reference set and its options" })
export class NullSourceInput {
  @Field(() => ID, { nullable: true }) referenceNullId?: string | null;
  @Field(() => ID, { nullable: true, description: "the reference stimulus set (training-like, larger than the synthesis set)" }) setId?: string | null;
  @Field(() => AugmentationInput, { nullable: true }) augmentation?: AugmentationInput | null;
  @Field(() => Int, { nullable: true, description: "pairs, default 100,000, at most 1,000,000" }) n?: number | null;
  @Field(() => Int, { nullable: true, description: "default 0" }) seed?: number | null;
}

@InputType()
export class CreateReferenceNullInput extends NullSourceInput {
  @Field(() => ID) modelId: string;
  @Field(() => [String], { nullable: true, description: "tensor names or stage labels; default: the model's labelled stages" }) stages?: string[] | null;
}

@ObjectType()
export class SnrRange {
  @Field(() => Float) min: number;
  @Field(() => Float) max: number;
}

@ObjectType({ description: "The augmentation a reference null was drawn with" })
export class Augmentation {
  @Field(() => Float, { nullable: true }) cropMinScale: number | null;
  @Field() flip: boolean;
  @Field(() => Float) jitter: number;
  @Field(() => SnrRange, { nullable: true }) noiseSnrDb: SnrRange | null;
}

@ObjectType({ description: "One value per validation metric" })
export class MetricValues {
  @Field(() => Float, { description: "Spearman's rho" }) spearman: number;
  @Field(() => Float, { description: "Pearson's r" }) pearson: number;
  @Field(() => Float, { nullable: true, description: "SNR in dB; null when infinite (two identical stimuli)" }) snr: number | null;
}

@ObjectType({ description: "A model-level reference null of one stage: similarity of random pairs of (augmented) reference stimuli" })
export class ReferenceNull {
  @Field(() => ID) id: string;
  @Field(() => ID) modelId: string;
  @Field(() => ID, { description: "the reference set" }) setId: string;
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => Augmentation, { nullable: true, description: "null: none" }) augmentation: Augmentation | null;
  @Field(() => Int, { description: "pairs requested" }) n: number;
  @Field(() => Int) seed: number;
  @Field(() => ReferenceNullStatusEnum) status: ReferenceNullStatusEnum;
  @Field(() => String, { nullable: true, description: "why, when FAILED" }) error: string | null;
  @Field(() => ID, { nullable: true }) jobId: string | null;
  @Field(() => Int, { nullable: true, description: "pairs measured (without augmentation at most every ordered pair of the set)" }) measured: number | null;
  @Field({ description: "fewer than 10,000 pairs: certificates judged against it say underpowered" }) underpowered: boolean;
  @Field(() => MetricValues, { name: "maxima", nullable: true, description: "null until READY" }) maximaValues: MetricValues | null;
  @Field(() => Int, { nullable: true, description: "wall-clock time of its job" }) elapsedMs: number | null;
  @Field(() => Date) createdAt: Date;
  @Field(() => Date, { nullable: true }) completedAt: Date | null;
}

@ObjectType({ description: "Validation verdicts of one stage of a model, summed over its certificates" })
export class StageCertificates {
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => String, { nullable: true }) stageLabel: string | null;
  @Field(() => Int) metamers: number;
  @Field(() => Int) passed: number;
  @Field(() => Int, { description: "certificates with a metric whose null maximum sat at its ceiling (Spearman rho = 1): passing said nothing there" })
  uninformative: number;
  @Field(() => Int, { description: "uninformative certificates that passed" }) passedUninformative: number;
  @Field(() => Int, { description: "judged against a null of < 10,000 pairs or drawn from the synthesis set itself" }) underpowered: number;
}
