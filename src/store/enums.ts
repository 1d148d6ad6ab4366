// The database's enums as the layers above use them. Only src/store imports Prisma; services that need one of these
// types take it from here.
export type { JobKind, ModelSource, UploadStatus, Visibility } from "../generated/prisma/enums.js";
// Values too: the API's enums are these objects (declared once, in prisma/schema.prisma).
export { JobStatus, Modality, Role, TrainingRegime, UploadPurpose } from "../generated/prisma/enums.js";
export { ShareObjectKind, ShareTargetKind } from "../generated/prisma/enums.js";
