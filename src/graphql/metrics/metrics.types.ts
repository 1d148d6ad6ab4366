import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";

export enum ObserverEnum {
  HUMAN = "HUMAN",
  GENERATOR = "GENERATOR",
  OTHER_MODELS = "OTHER_MODELS",
  MODEL = "MODEL",
}
registerEnumType(ObserverEnum, {
  name: "RecognitionObserver",
  description: "Who recognizes the metamers: people, the generating model, every other model (averaged), or one given model",
  valuesConfig: {
    HUMAN: { description: "participants' proportion correct, pooled across experiments" },
    GENERATOR: { description: "the generating model on its own validated metamers" },
    OTHER_MODELS: { description: "mean over every recognizer other than the generator of its accuracy" },
    MODEL: { description: "one recognizer, given by recognizerId" },
  },
});

export enum StudyModalityEnum {
  VISION = "VISION",
  AUDIO = "AUDIO",
}
registerEnumType(StudyModalityEnum, { name: "StudyModality", description: "The paper's modalities (VISION = image models)" });

export enum TestDesignEnum {
  REPEATED_MEASURES = "REPEATED_MEASURES",
  MIXED = "MIXED",
}
registerEnumType(TestDesignEnum, { name: "TestDesign" });

@ObjectType()
export class Interval {
  @Field(() => Float) low: number;
  @Field(() => Float) high: number;
}

@ObjectType({ description: "How a bootstrap was drawn: rerunning with the same seed and resamples reproduces it" })
export class BootstrapInfo {
  @Field(() => Int) seed: number;
  @Field(() => Int) resamples: number;
}

@ObjectType()
export class Recognizability {
  @Field(() => ID) modelId: string;
  @Field() stage: string;
  @Field(() => ObserverEnum) observer: ObserverEnum;
  @Field(() => Float, { nullable: true, description: "null when there is no data" }) mean: number | null;
  @Field(() => Float, { nullable: true, description: "HUMAN: std / sqrt(n) over participants; models: bootstrap SE over metamers" })
  sem: number | null;
  @Field(() => Interval, { nullable: true, description: "95% bootstrap percentile interval" }) ci95: Interval | null;
  @Field(() => Int, { description: "participants (HUMAN), recognizers (OTHER_MODELS) or metamers (GENERATOR, MODEL)" }) n: number;
  @Field(() => Int, { nullable: true, description: "metamers per recognizer (model observers)" }) metamers: number | null;
  @Field(() => BootstrapInfo) bootstrap: BootstrapInfo;
}

@ObjectType()
export class CurvePoint {
  @Field() stage: string;
  @Field(() => Int, { description: "network order; natural stimuli are -1" }) order: number;
  @Field() natural: boolean;
  @Field(() => Float) mean: number;
  @Field(() => Float, { nullable: true, description: "HUMAN: over participants; OTHER_MODELS: across recognizers; one model: binomial" })
  sem: number | null;
  @Field(() => Int) n: number;
}

@ObjectType()
export class MatrixCell {
  @Field(() => ID) generatorId: string;
  @Field(() => ID) recognizerId: string;
  @Field({ description: "the generator stage evaluated (its own final stage for FINAL)" }) stage: string;
  @Field(() => Float) accuracy: number;
  @Field(() => Int, { description: "validated metamers evaluated" }) n: number;
}

@ObjectType()
export class IdiosyncrasyPoint {
  @Field(() => ID) modelId: string;
  @Field() model: string;
  @Field() stage: string;
  @Field(() => Float) human: number;
  @Field(() => Float) otherModels: number;
}

@ObjectType()
export class Idiosyncrasy {
  @Field(() => [String]) excludeStages: string[];
  @Field(() => Float) spearmanRho: number;
  @Field(() => Float) pearsonR: number;
  @Field(() => Float) r2: number;
  @Field(() => Float) kendallTau: number;
  @Field(() => Int, { description: "(model, stage) points" }) n: number;
  @Field(() => Interval, { description: "bootstrap CI of Spearman's rho over points" }) ci95: Interval;
  @Field(() => BootstrapInfo) bootstrap: BootstrapInfo;
  @Field(() => [IdiosyncrasyPoint]) points: IdiosyncrasyPoint[];
}

@ObjectType()
export class PermutationEffect {
  @Field(() => Float, { nullable: true }) F: number | null;
  @Field(() => Int) df1: number;
  @Field(() => Int) df2: number;
  @Field(() => Float, { nullable: true, description: "permutation p-value" }) p: number | null;
  @Field(() => Int, { description: "relabellings evaluated" }) permutations: number;
  @Field({ description: "true when every relabelling was enumerated" }) exact: boolean;
}

@ObjectType()
export class PermutationTest {
  @Field(() => TestDesignEnum) design: TestDesignEnum;
  @Field(() => PermutationEffect, { description: "model (compareRecognizability) or observer (humanVsModel)" }) factor: PermutationEffect;
  @Field(() => PermutationEffect) stage: PermutationEffect;
  @Field(() => PermutationEffect) interaction: PermutationEffect;
  @Field(() => [String]) stages: string[];
  @Field(() => Int) subjects: number;
  @Field(() => Int) permutations: number;
  @Field(() => Int) seed: number;
}
