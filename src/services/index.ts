// The domain services, built once per app. Add yours to `Services` and `createServices` (one line each).
import type { AppConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { Store } from "../store/store.js";
import { AuthService } from "./auth.js";
import { BlobService } from "./blobs.js";
import { HealthService } from "./health.js";
import { ModelService } from "./models.js";
import { StimulusService } from "./stimuli.js";
import { UploadService } from "./uploads.js";
import { MetricsService } from "./metrics/recognizability-service.js";
import { StudyService } from "./studies/study-service.js";
import { RecognitionService } from "./recognition.js";
import { SynthesisService } from "./synthesis.js";
import { NoDispatcher } from "./ports.js";
import { StatsPool } from "./stats-pool.js";

export interface ServiceDeps {
  store: Store;
  config: AppConfig;
  log: Logger;
  /** Base URL of the running server (for links handed to clients); known once the server listens. */
  baseUrl: () => string;
}

export interface Services {
  health: HealthService;
  auth: AuthService;
  blobs: BlobService;
  uploads: UploadService;
  models: ModelService;
  stimuli: StimulusService;
  metrics: MetricsService;
  studies: StudyService;
  recognition: RecognitionService;
  synthesis: SynthesisService;
  /** Threads for statistics (bootstraps, permutation tests), off the event loop; closed with the app. */
  statsPool: StatsPool;
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
  return {
    health: new HealthService(store, config.version),
    auth: new AuthService(store),
    blobs: new BlobService(store),
    uploads,
    models,
    stimuli: new StimulusService(store, config.limits, uploads),
    metrics: new MetricsService(store, statsPool),
    studies: new StudyService(store),
    recognition: new RecognitionService(store),
    // Jobs are dispatched once main.ts (or a test) attaches a worker pool / Lambda: services.synthesis.useDispatcher().
    synthesis: new SynthesisService(store, models, new NoDispatcher(), { maxTotalSteps: config.jobs.maxSteps, baseUrl: deps.baseUrl }),
    statsPool,
  };
}
