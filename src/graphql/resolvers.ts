// Every resolver class of the API. The schema is built from this list: append yours here (one line each).
import type { NonEmptyArray } from "type-graphql";
import { AuthResolver } from "./auth/auth.resolver.js";
import { HealthResolver } from "./health/health.resolver.js";
import { ModelResolver } from "./model/model.resolver.js";
import { StimulusResolver, StimulusSetResolver } from "./stimulus/stimulus.resolver.js";
import { UploadResolver } from "./upload/upload.resolver.js";
import { MetricsResolver } from "./metrics/metrics.resolver.js";
import { StudyResolver } from "./studies/studies.resolver.js";
import { MetamerResolver, SynthesisBatchResolver, SynthesisJobResolver } from "./synthesis/synthesis.resolver.js";

export const resolvers: NonEmptyArray<Function> = [
  HealthResolver,
  AuthResolver,
  ModelResolver,
  UploadResolver,
  StimulusSetResolver,
  StimulusResolver,
  MetricsResolver,
  StudyResolver,
  SynthesisBatchResolver,
  SynthesisJobResolver,
  MetamerResolver,
];
