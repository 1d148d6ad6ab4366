import { ArgsType, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";

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
  @Field({ description: "the tensor name" }) stage: string;
  @Field(() => String, { nullable: true, description: "the stage's label, if it has one" }) stageLabel: string | null;
  @Field(() => ObserverEnum) observer: ObserverEnum;
  @Field(() => Float, { nullable: true, description: "null when there is no data" }) mean: number | null;
  @Field(() => Float, { nullable: true, description: "HUMAN: std / sqrt(n) over participants; models: bootstrap SE over metamers" })
  sem: number | null;
  @Field(() => Interval, { nullable: true, description: "95% bootstrap percentile interval" }) ci95: Interval | null;
  @Field(() => Int, { description: "participants (HUMAN), recognizers (OTHER_MODELS) or metamers (GENERATOR, MODEL)" }) n: number;
  @Field(() => Int, { nullable: true, description: "metamers per recognizer (model observers)" }) metamers: number | null;
  @Field(() => BootstrapInfo) bootstrap: BootstrapInfo;
  @Field(() => [String], { description: "configurations (SynthesisBatch.configHash) whose metamers entered; study:<id> for imported results" })
  configHashes: string[];
  @Field(() => [ID], { description: "the recognizers whose answers entered" }) recognizerIds: string[];
  @Field(() => Int) recognizerCount: number;
  @Field(() => ID, { nullable: true, description: "the recognizer panel used; null: every recognizer with results" }) panelId: string | null;
}

@ObjectType()
export class CurvePoint {
  @Field({ description: "the tensor name (natural: the natural stimuli)" }) stage: string;
  @Field(() => String, { nullable: true, description: "the stage's label, if it has one" }) stageLabel: string | null;
  @Field(() => Int, { description: "network order; natural stimuli are -1" }) order: number;
  @Field() natural: boolean;
  @Field(() => Float) mean: number;
  @Field(() => Float, { nullable: true, description: "HUMAN: over participants; OTHER_MODELS: across recognizers; one model: binomial" })
  sem: number | null;
  @Field(() => Int) n: number;
  @Field(() => [String], { description: "configurations (SynthesisBatch.configHash) whose metamers entered; study:<id> for imported results" })
  configHashes: string[];
  @Field(() => [ID], { description: "the recognizers whose answers entered" }) recognizerIds: string[];
  @Field(() => Int) recognizerCount: number;
  @Field(() => ID, { nullable: true, description: "the recognizer panel used; null: every recognizer with results" }) panelId: string | null;
}

@ObjectType()
export class MatrixCell {
  @Field(() => ID) generatorId: string;
  @Field(() => ID) recognizerId: string;
  @Field({ description: "the generator stage evaluated, a tensor name (its own final stage for FINAL)" }) stage: string;
  @Field(() => String, { nullable: true, description: "the stage's label in the generator, if it has one" }) stageLabel: string | null;
  @Field(() => Float) accuracy: number;
  @Field(() => Int, { description: "validated metamers evaluated" }) n: number;
  @Field(() => [String], { description: "configurations (SynthesisBatch.configHash) whose metamers entered; study:<id> for imported results" })
  configHashes: string[];
}

@ObjectType()
export class IdiosyncrasyPoint {
  @Field(() => ID) modelId: string;
  @Field() model: string;
  @Field({ description: "the tensor name" }) stage: string;
  @Field(() => String, { nullable: true }) stageLabel: string | null;
  @Field(() => Float) human: number;
  @Field(() => Float) otherModels: number;
  @Field(() => Int, { description: "recognizers averaged in otherModels" }) recognizerCount: number;
  @Field(() => [String]) configHashes: string[];
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
  @Field(() => [String], { description: "configurations (SynthesisBatch.configHash) whose metamers entered; study:<id> for imported results" })
  configHashes: string[];
  @Field(() => [ID], { description: "the recognizers whose answers entered" }) recognizerIds: string[];
  @Field(() => Int) recognizerCount: number;
  @Field(() => ID, { nullable: true, description: "the recognizer panel used; null: every recognizer with results" }) panelId: string | null;
}

/** Which results a metrics query reads: configurations (issue 12) and recognizers (issue 13); README "Results by configuration". */
@ArgsType()
export class ResultSourceArgs {
  @Field(() => [ID], { nullable: true, description: "only these batches' metamers (one model's batches must share a configuration unless poolConfigurations)" })
  batchIds?: string[] | null;
  @Field(() => String, { nullable: true, description: "only this configuration (SynthesisBatch.configHash)" })
  configHash?: string | null;
  @Field(() => Boolean, {
    defaultValue: false,
    description: "sum every configuration; default false: per (generator, stage) the latest configuration only",
  })
  poolConfigurations: boolean;
  @Field(() => ID, { nullable: true, description: "a recognizer panel; default: every recognizer with results" })
  panelId?: string | null;
}

@ObjectType({ description: "A named, versioned set of recognizer models (createRecognizerPanel)" })
export class RecognizerPanel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => Int) version: number;
  @Field(() => [ID], { description: "the recognizers, in the order given" }) modelIds: string[];
  @Field(() => Int) modelCount: number;
  @Field() createdAt: Date;
}

@InputType({ description: "One stage label: `label` names the stage `stage` (a tensor name, or its current label)" })
export class StageLabelInput {
  @Field() label: string;
  @Field() stage: string;
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
