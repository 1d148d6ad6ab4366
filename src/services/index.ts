// The domain services, built once per app. Add yours to `Services` and `createServices` (one line each).
import type { AppConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import { AuthService } from "./auth.js";
import { PartnerIdentityService } from "./partner-identity.js";
import { systemClock, type Clock } from "./authorization.js";
import { SharingService } from "./sharing.js";
import { BlobService } from "./blobs.js";
import { HealthService } from "./health.js";
import { ModelService } from "./models.js";
import { StimulusService } from "./stimuli.js";
import { UploadService } from "./uploads.js";
import { MetricsService } from "./metrics/recognizability-service.js";
import { PanelService } from "./panels.js";
import { LabelMapService } from "./label-maps.js";
import { StageService } from "./stages.js";
import { ListingService } from "./listing.js";
import { StudyService } from "./studies/study-service.js";
import { RecognitionService } from "./recognition.js";
import { SynthesisService } from "./synthesis.js";
import { ReferenceNullService } from "./reference-nulls.js";
import { RobustnessService } from "./robustness.js";
import { NoDispatcher } from "./ports.js";
import { StatsPool } from "./stats-pool.js";
import { ExperimentService } from "./experiments/experiment-service.js";
import { ParticipationService } from "./experiments/participation.js";
import { ArchiveService } from "./archive.js";
import { BlobSweepService } from "./blob-sweep.js";

export interface ServiceDeps {
  store: Store;
  config: AppConfig;
  log: Logger;
  /** Base URL of the running server (for links handed to clients); known once the server listens. */
  baseUrl: () => string;
  /** The hub's clock (key expiry, embargoes); tests pass one they move. Default: the system time. */
  clock?: Clock;
}

export interface Services {
  health: HealthService;
  auth: AuthService;
  sharing: SharingService;
  blobs: BlobService;
  uploads: UploadService;
  models: ModelService;
  stimuli: StimulusService;
  metrics: MetricsService;
  /** Recognizer panels (issue 13) and stage labels. */
  panels: PanelService;
  /** Label maps (issue 12 item 5): a model scored in coarser categories. */
  labelMaps: LabelMapService;
  stages: StageService;
  /** metamers(filter) and synthesisBatches(filter) (issue 13). */
  listing: ListingService;
  studies: StudyService;
  recognition: RecognitionService;
  synthesis: SynthesisService;
  referenceNulls: ReferenceNullService;
  /** Adversarial robustness per model (issue 12 item 8): PGD evaluations as ROBUSTNESS jobs. */
  robustness: RobustnessService;
  /** Threads for statistics (bootstraps, permutation tests), off the event loop; closed with the app. */
  statsPool: StatsPool;
  /** Human experiments: the lab's side (API key) and the participant's side (a participation link's token). */
  experiments: ExperimentService;
  participation: ParticipationService;
  /** Archive and delete models, stimulus sets and batches (issue 13). */
  archive: ArchiveService;
  /** Unreferenced blobs and expired uploads (issue 13); main.ts runs it hourly. */
  blobSweep: BlobSweepService;
}

export function createServices(deps: ServiceDeps): Services {
  const { store, config } = deps;
  const uploads = new UploadService(store, config.limits, config.uploadTtlSeconds, deps.baseUrl);
  const models = new ModelService(store, config.limits, uploads);
  const statsPool = new StatsPool({
    threads: config.api.statsThreads,
    maxQueue: config.api.statsQueue,
    // One API key may fill a quarter of the queue, so others still get in (and are served in turn).
    maxQueuePerOwner: Math.max(1, Math.floor(config.api.statsQueue / 4)),
    timeoutMs: config.api.statsTimeoutMs,
    log: deps.log,
  });
  // Jobs are dispatched once main.ts (or a test) attaches a worker pool / Lambda: services.synthesis.useDispatcher().
  const synthesis = new SynthesisService(store, models, new NoDispatcher(), {
    maxTotalSteps: config.jobs.maxSteps,
    baseUrl: deps.baseUrl,
    gpuWorkThreshold: config.jobs.gpuWorkThreshold,
  });
  return {
    health: new HealthService(store, config.version),
    auth: new AuthService(store, deps.clock ?? systemClock, new PartnerIdentityService(config.consortium, deps.clock ?? systemClock)),
    sharing: new SharingService(store, deps.clock ?? systemClock),
    blobs: new BlobService(store, config.s3?.presignSeconds),
    uploads,
    models,
    stimuli: new StimulusService(store, config.limits, uploads),
    metrics: new MetricsService(store, statsPool),
    panels: new PanelService(store),
    labelMaps: new LabelMapService(store),
    stages: new StageService(store),
    listing: new ListingService(store),
    studies: new StudyService(store, undefined, statsPool),
    recognition: new RecognitionService(store),
    synthesis,
    // Its jobs go to the synthesis service's dispatcher, whichever main.ts (or a test) attached.
    referenceNulls: new ReferenceNullService(store, models, (ids) => synthesis.dispatchJobs(ids)),
    robustness: new RobustnessService(store, (ids) => synthesis.dispatchJobs(ids), { serviceVersion: config.version }),
    statsPool,
    experiments: new ExperimentService(store, deps.baseUrl),
    participation: new ParticipationService(store),
    archive: new ArchiveService(store, synthesis),
    blobSweep: new BlobSweepService(store),
  };
}
