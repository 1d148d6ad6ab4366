// What the API's resolvers return: the services' views of stored records. The GraphQL layer imports these names from
// here, never from the store, so a record can change shape behind a service without the schema noticing.
export type { ModelRecord as ModelView } from "../store/models.js";
export type { JobRecord as SynthesisJobView } from "../store/jobs.js";
export type { MetamerRecord as MetamerView } from "../store/metamers.js";
export type { Page } from "../store/pagination.js";
// The database's enums that the API exposes as they are (declared once, in prisma/schema.prisma).
export { JobStatus, Modality, Role, TrainingRegime, UploadPurpose } from "../store/enums.js";
export { ShareObjectKind, ShareTargetKind } from "../store/enums.js";
export type { ShareView } from "./sharing.js";
