import { registerEnumType } from "type-graphql";
import { Modality, Role, TrainingRegime, UploadPurpose } from "../services/views.js";

// GraphQL enums shared by several aggregates: the database's enums themselves (prisma/schema.prisma), so a value
// added there reaches the API with nothing to keep in step.
export const RoleEnum = Role;
export type RoleEnum = Role;
export const ModalityEnum = Modality;
export type ModalityEnum = Modality;
export const TrainingRegimeEnum = TrainingRegime;
export type TrainingRegimeEnum = TrainingRegime;
export const UploadPurposeEnum = UploadPurpose;
export type UploadPurposeEnum = UploadPurpose;

registerEnumType(RoleEnum, { name: "Role", description: "READER reads; MEMBER also creates; ADMIN also manages keys" });
registerEnumType(ModalityEnum, { name: "Modality" });
registerEnumType(TrainingRegimeEnum, { name: "TrainingRegime" });
registerEnumType(UploadPurposeEnum, { name: "UploadPurpose" });
