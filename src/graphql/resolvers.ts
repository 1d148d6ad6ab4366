// Every resolver class of the API. The schema is built from this list: append yours here (one line each).
import type { NonEmptyArray } from "type-graphql";
import { AuthResolver } from "./auth/auth.resolver.js";
import { GroupsResolver } from "./groups/groups.resolver.js";
import { SharingResolver } from "./sharing/sharing.resolver.js";
import { HealthResolver } from "./health/health.resolver.js";
import { ModelResolver } from "./model/model.resolver.js";
import { StimulusResolver, StimulusSetResolver } from "./stimulus/stimulus.resolver.js";
import { UploadResolver } from "./upload/upload.resolver.js";
import { MetricsResolver } from "./metrics/metrics.resolver.js";
import { RecognizerPanelResolver, StageLabelResolver } from "./panels/panels.resolver.js";
import { LabelMapResolver, ModelLabelMapResolver } from "./label-maps/label-maps.resolver.js";
import { ListingResolver } from "./listing/listing.resolver.js";
import { MetamerStageFieldsResolver, SynthesisBatchConfigFieldsResolver, SynthesisJobStageFieldsResolver } from "./metrics/stage-fields.resolver.js";
import { StudyResolver } from "./studies/studies.resolver.js";
import { MetamerResolver, SynthesisBatchResolver, SynthesisJobResolver } from "./synthesis/synthesis.resolver.js";
import { ReferenceNullResolver } from "./synthesis/reference-null.resolver.js";
import { ExperimentResolver } from "./experiments/experiments.resolver.js";
import { PairedTestResolver } from "./metrics/paired.resolver.js";
import { RobustnessResolver } from "./robustness/robustness.resolver.js";
import { ArchiveResolver } from "./archive/archive.resolver.js";

export const resolvers: NonEmptyArray<Function> = [
  HealthResolver,
  AuthResolver,
  GroupsResolver,
  SharingResolver,
  ModelResolver,
  UploadResolver,
  StimulusSetResolver,
  StimulusResolver,
  MetricsResolver,
  RecognizerPanelResolver,
  StageLabelResolver,
  LabelMapResolver,
  ModelLabelMapResolver,
  ListingResolver,
  MetamerStageFieldsResolver,
  SynthesisJobStageFieldsResolver,
  SynthesisBatchConfigFieldsResolver,
  StudyResolver,
  SynthesisBatchResolver,
  SynthesisJobResolver,
  MetamerResolver,
  ReferenceNullResolver,
  ExperimentResolver,
  PairedTestResolver,
  RobustnessResolver,
  ArchiveResolver,
];
