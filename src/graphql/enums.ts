import { registerEnumType } from "type-graphql";

// GraphQL enums shared by several aggregates. Values equal the database enums (prisma/schema.prisma).
export enum RoleEnum {
  READER = "READER",
  MEMBER = "MEMBER",
  ADMIN = "ADMIN",
}
export enum ModalityEnum {
  IMAGE = "IMAGE",
  AUDIO = "AUDIO",
}
export enum TrainingRegimeEnum {
  STANDARD = "STANDARD",
  ADVERSARIAL = "ADVERSARIAL",
  RANDOM_PERTURBATION = "RANDOM_PERTURBATION",
  OTHER = "OTHER",
}
export enum UploadPurposeEnum {
  MODEL = "MODEL",
  STIMULUS = "STIMULUS",
}

registerEnumType(RoleEnum, { name: "Role", description: "READER reads; MEMBER also creates; ADMIN also manages keys" });
registerEnumType(ModalityEnum, { name: "Modality" });
registerEnumType(TrainingRegimeEnum, { name: "TrainingRegime" });
registerEnumType(UploadPurposeEnum, { name: "UploadPurpose" });
