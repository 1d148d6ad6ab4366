// The database's enums as the layers above use them. Only src/store imports Prisma; services that need one of these
// types take it from here.
export type { JobKind, JobStatus, Modality, ModelSource, Role, TrainingRegime, UploadPurpose, UploadStatus, Visibility } from "../generated/prisma/enums.js";
