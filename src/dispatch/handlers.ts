import type { AppConfig } from "../config.js";
import { useExecutionProviders } from "../engine/runtime/ort.js";
import type { Logger } from "../logger.js";
import { EngineSessionCache } from "../services/engine-cache.js";
import { JobHandlerRegistry } from "../services/jobs.js";
import { NullDistributionJobHandler } from "../services/null-distribution-job.js";
import { RecognitionJobHandler } from "../services/recognition.js";
import { softwareVersions } from "../services/software-versions.js";
import { StimulusService } from "../services/stimuli.js";
import { SynthesisJobHandler } from "../services/synthesis-job.js";
import { UploadService } from "../services/uploads.js";
import type { Store } from "../store/store.js";

export interface WorkerDeps {
  store: Store;
  config: AppConfig;
  log: Logger;
}

/**
 * Every job kind a worker (pool process or Lambda invocation) can run. To add a kind, register its handler here
 * with one line (e.g. RECOGNITION from the statistics area).
 */
export function createJobHandlers(deps: WorkerDeps): { registry: JobHandlerRegistry; close(): Promise<void> } {
  // GPU hosts (METAMERS_EXECUTION_PROVIDERS=cuda,cpu): the synthesis sessions of this process use them.
  if (deps.config.jobs.executionProviders) useExecutionProviders(deps.config.jobs.executionProviders);
  const uploads = new UploadService(deps.store, deps.config.limits, deps.config.uploadTtlSeconds, () => "");
  const stimuli = new StimulusService(deps.store, deps.config.limits, uploads);
  const sessions = new EngineSessionCache(16, deps.config.jobs.sessionThreads);
  const registry = new JobHandlerRegistry()
    .register("SYNTHESIS", new SynthesisJobHandler({ stimuli, sessions, softwareVersions: softwareVersions(deps.config.version) }))
    .register("NULL_DISTRIBUTION", new NullDistributionJobHandler({ stimuli, sessions }))
    .register("RECOGNITION", new RecognitionJobHandler({ stimuli, sessions }));
  return { registry, close: () => sessions.close() };
}
