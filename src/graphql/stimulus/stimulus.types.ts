import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ModalityEnum } from "../enums.js";
import { ConnectionType } from "../relay.js";

@ObjectType({ description: "The stimulus converted to one model input shape (float32, little-endian)" })
export class StimulusTensor {
  @Field(() => [Int]) shape: number[];
  @Field({ description: "download: GET /blobs/<sha256>" }) sha256: string;
}

@ObjectType({ description: "A natural stimulus: the original file and its tensors" })
export class Stimulus {
  @Field(() => ID) id: string;
  @Field(() => ID) setId: string;
  @Field() label: string;
  @Field({ description: "sanitized: no path separators or control characters, at most 255 bytes" }) filename: string;
  @Field(() => String, { nullable: true, description: "the file name as sent, when sanitizing changed it" }) originalFilename: string | null;
  @Field() contentType: string;
  @Field({ description: "sha256 of the original file (download: GET /blobs/<sha256>)" }) sha256: string;
  @Field(() => Int) position: number;
  @Field(() => Date) createdAt: Date;
  // shape and tensors are resolved by StimulusResolver
}

export const StimulusConnection = ConnectionType(Stimulus, "Stimulus");

@ObjectType()
export class StimulusSet {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => ModalityEnum) modality: ModalityEnum;
  @Field(() => [String]) classLabels: string[];
  @Field(() => Int, { nullable: true }) sampleRate: number | null;
  @Field(() => Date, { nullable: true, description: "when it was archived (hidden from lists, still readable by id); null if not" })
  archivedAt?: Date | null;
  @Field(() => Date) createdAt: Date;
  // stimuli is resolved by StimulusSetResolver
}

export const StimulusSetConnection = ConnectionType(StimulusSet, "StimulusSet");

@InputType()
export class CreateStimulusSetInput {
  @Field() name: string;
  @Field(() => ModalityEnum) modality: ModalityEnum;
  @Field(() => [String], { nullable: true }) classLabels?: string[] | null;
  @Field(() => Int, { nullable: true, description: "audio: resample to this rate when no model is named" }) sampleRate?: number | null;
}

@InputType()
export class StimulusItemInput {
  @Field() label: string;
  @Field(() => String, { nullable: true, description: "base64 bytes of a PNG/JPEG/WAV file (else uploadId)" }) data?: string | null;
  @Field(() => ID, { nullable: true, description: "a completed upload of purpose STIMULUS" }) uploadId?: string | null;
  @Field(() => String, { nullable: true }) filename?: string | null;
}

export enum ResizeMode {
  CENTER_CROP = "CENTER_CROP",
  STRETCH = "STRETCH",
}
registerEnumType(ResizeMode, {
  name: "ResizeMode",
  description: "CENTER_CROP: the largest centred region of the input's aspect, then scaled (default); STRETCH: the whole image scaled to the input",
});

@InputType({ description: "How image files are fitted to the model input (default: CENTER_CROP, never enlarged)" })
export class ResizeInput {
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: "allow enlarging images smaller than the input" })
  upscale?: boolean | null;
  @Field(() => ResizeMode, { nullable: true, defaultValue: ResizeMode.CENTER_CROP }) mode?: ResizeMode | null;
}

@InputType({ description: "Stimulus sets matching every field given (README: the filter grammar)" })
export class StimulusSetFilter {
  @Field(() => Boolean, { nullable: true, description: "true: only archived sets; false or absent: archived sets are hidden" })
  archived?: boolean | null;
}

@InputType()
export class AddStimuliInput {
  @Field(() => ID) setId: string;
  @Field(() => [StimulusItemInput]) items: StimulusItemInput[];
  @Field(() => ID, { nullable: true, description: "make tensors for this model's input (shape, range, sample rate)" })
  modelId?: string | null;
  @Field(() => [Int], { nullable: true, description: "or for this input shape; neither: the file's own size" })
  inputShape?: number[] | null;
  @Field(() => Float, { nullable: true, description: "audio: scale to this RMS after removing the mean" }) rms?: number | null;
  @Field(() => ResizeInput, { nullable: true, description: "images: allow upscaling small images, or stretch instead of centre-cropping" })
  resize?: ResizeInput | null;
}
