import { Field, Float, ID, InputType, Int, ObjectType } from "type-graphql";
import { JSONObjectResolver } from "graphql-scalars";
import type { ModelView } from "../../services/views.js";
import { ModalityEnum, TrainingRegimeEnum } from "../enums.js";
import { ConnectionType } from "../relay.js";

@ObjectType({ description: "An op on the input-to-layer path without a gradient rule" })
export class UnsupportedOp {
  @Field() opType: string;
  @Field(() => Int) opset: number;
  @Field() nodeName: string;
  @Field(() => String, { nullable: true }) reason?: string | null;
}

@ObjectType({ description: "A stage of a model: a floating-point intermediate tensor" })
export class Layer {
  @Field(() => ID, { description: "the model this layer belongs to (with name, the layer's identity)" }) modelId: string;
  @Field({ description: "the tensor name" }) name: string;
  @Field(() => String, { nullable: true, description: "friendly stage name from stageLabels" }) label: string | null;
  @Field(() => [Int]) shape: number[];
  @Field({ description: "ONNX op type of the producing node" }) producerOp: string;
  @Field(() => Int, { description: "position of the producing node in topological order" }) order: number;
  @Field({ description: "an input gradient exists for this stage (it can be a synthesis target)" }) differentiable: boolean;
  @Field(() => [UnsupportedOp]) unsupportedOps: UnsupportedOp[];
}

@ObjectType()
export class Training {
  @Field(() => TrainingRegimeEnum) regime: TrainingRegimeEnum;
  @Field(() => String, { nullable: true, description: "e.g. L2 or Linf for adversarial training" }) norm: string | null;
  @Field(() => Float, { nullable: true }) epsilon: number | null;
}

@ObjectType({ description: "The input normalization the hub baked into a model: its input is (x - mean) / std per channel" })
export class Normalization {
  @Field(() => [Float], { description: "per channel, subtracted first" }) mean: number[];
  @Field(() => [Float], { description: "per channel, divided by after the mean" }) std: number[];
}

@ObjectType({ description: "An immutable version of a registered model" })
export class Model {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => Int) version: number;
  @Field(() => ModalityEnum) modality: ModalityEnum;
  @Field(() => String, { nullable: true, description: "sha256 of the ONNX file (download: GET /blobs/<sha256>)" })
  sha256: string | null;
  @Field(() => Float, { nullable: true }) byteSize: number | null;
  @Field(() => Int, { nullable: true }) opset: number | null;
  @Field(() => String, { nullable: true }) inputName: string | null;
  @Field(() => [Int]) inputShape: number[];
  @Field(() => [Float]) inputRange: number[];
  @Field(() => Int, { nullable: true }) sampleRate: number | null;
  @Field(() => String, { nullable: true }) outputName: string | null;
  @Field(() => [String]) classLabels: string[];
  @Field(() => Training) training: Training;
  @Field(() => JSONObjectResolver, { description: "friendly stage name -> tensor name" }) stageLabels: Record<string, string>;
  @Field(() => Normalization, {
    nullable: true,
    description: "the normalization wrapped around the uploaded file as Sub/Div nodes (registerModel normalization), or null",
  })
  normalization: Normalization | null;
  @Field(() => String, { nullable: true, description: "sha256 of the file as uploaded, when the hub wrapped it (normalization)" })
  originalSha256: string | null;
  @Field(() => [String], { description: "the group's labels for finding the model (setModelTags; models(filter: { tag }))" }) tags: string[];
  @Field(() => Date, { nullable: true, description: "when it was archived (hidden from lists, still readable by id); null if not" })
  archivedAt: Date | null;
  @Field() source: string;
  @Field({ deprecationReason: "not read for access any more: see shares (share, shares)" }) visibility: string;
  @Field(() => Date) createdAt: Date;
  // `layers` is resolved by ModelResolver
}

export const toModel = (r: ModelView): Model => r as unknown as Model;

export const ModelConnection = ConnectionType(Model, "Model");

@InputType()
export class TrainingInput {
  @Field(() => TrainingRegimeEnum, { nullable: true, defaultValue: TrainingRegimeEnum.STANDARD }) regime?: TrainingRegimeEnum;
  @Field(() => String, { nullable: true }) norm?: string | null;
  @Field(() => Float, { nullable: true }) epsilon?: number | null;
}

@InputType({ description: "Per-channel input normalization: the registered model computes the uploaded one on (x - mean) / std" })
export class NormalizationInput {
  @Field(() => [Float], { description: "one per input channel (axis 1 of an NCHW input), e.g. [0.485, 0.456, 0.406]" }) mean: number[];
  @Field(() => [Float], { description: "one per input channel, each > 0, e.g. [0.229, 0.224, 0.225]" }) std: number[];
}

@InputType()
export class RegisterModelInput {
  @Field() name: string;
  @Field(() => ModalityEnum) modality: ModalityEnum;
  @Field(() => String, { nullable: true, description: "the ONNX file, base64 (small files; else uploadId)" }) data?: string | null;
  @Field(() => ID, { nullable: true, description: "a completed upload of purpose MODEL" }) uploadId?: string | null;
  @Field(() => [String], { nullable: true }) classLabels?: string[] | null;
  @Field(() => [Float], { nullable: true, description: "default [0,1] for images, [-1,1] for audio" }) inputRange?: number[] | null;
  @Field(() => Int, { nullable: true, description: "audio models: input samples per second" }) sampleRate?: number | null;
  @Field(() => TrainingInput, { nullable: true }) training?: TrainingInput | null;
  @Field(() => JSONObjectResolver, { nullable: true, description: "friendly stage name -> tensor name, e.g. {\"layer3\": \"/layer3/...\"}" })
  stageLabels?: Record<string, unknown> | null;
  @Field(() => NormalizationInput, { nullable: true, description: "wrap the model in Sub/Div nodes: its input becomes raw values in inputRange" })
  normalization?: NormalizationInput | null;
  @Field(() => Boolean, {
    nullable: true,
    description: "register a new version even when this name's newest identical file (same sha256 after wrapping) exists; default: return that version",
  })
  forceNewVersion?: boolean | null;
}

@InputType({ description: "Models matching every field given; a list matches any of its values (README: the filter grammar)" })
export class ModelFilter {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => ModalityEnum, { nullable: true }) modality?: ModalityEnum | null;
  @Field(() => [String], { nullable: true, description: "any of these names" }) names?: string[] | null;
  @Field(() => [ModalityEnum], { nullable: true }) modalities?: ModalityEnum[] | null;
  @Field(() => [TrainingRegimeEnum], { nullable: true, description: "training regimes" }) regimes?: TrainingRegimeEnum[] | null;
  @Field(() => String, { nullable: true, description: "models carrying this tag" }) tag?: string | null;
  @Field(() => [String], { nullable: true, description: "models carrying any of these tags" }) tags?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: "true: only archived models; false or absent: archived models are hidden" })
  archived?: boolean | null;
}
