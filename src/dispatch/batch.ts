import { BatchClient, SubmitJobCommand } from "@aws-sdk/client-batch";
import type { Dispatcher } from "../services/ports.js";

export interface BatchDispatcherOptions {
  jobQueue: string;
  jobDefinition: string;
  region: string;
  /** Any Batch-compatible endpoint; unset = AWS's regional endpoint. */
  endpoint?: string;
  /** Most GPU workers (array children) one dispatch starts. */
  maxWorkers: number;
  /** Tests pass a client whose transport is mocked. */
  client?: BatchClient;
}

/** The largest array job AWS Batch accepts. */
const MAX_ARRAY_SIZE = 10_000;

/**
 * Dispatches jobs to GPU workers on AWS Batch: one `SubmitJob` per dispatch, an array job of min(jobs, maxWorkers)
 * children (a single job when that is 1: Batch arrays start at 2). Each child is the GPU image
 * (functions/gpu-worker), which drains the job table (src/dispatch/batch-worker.ts) and exits when nothing is left,
 * so the payload names no job: the rows in PostgreSQL are the truth, and a lost or duplicated submission only costs
 * a worker that finds nothing to do. The compute environment scales from 0 vCPUs, so idle costs nothing.
 */
export class BatchDispatcher implements Dispatcher {
  readonly kind = "batch" as const;
  private readonly client: BatchClient;

  constructor(private readonly options: BatchDispatcherOptions) {
    this.client = options.client ?? new BatchClient({ region: options.region, endpoint: options.endpoint });
  }

  async dispatch(jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const workers = Math.min(jobIds.length, this.options.maxWorkers, MAX_ARRAY_SIZE);
    await this.client.send(
      new SubmitJobCommand({
        // Batch job names: letters, digits, '-' and '_', at most 128; the first job id makes it findable in the console.
        jobName: `metamers-${jobIds[0]}-${jobIds.length}`,
        jobQueue: this.options.jobQueue,
        jobDefinition: this.options.jobDefinition,
        ...(workers > 1 ? { arrayProperties: { size: workers } } : {}),
        // For the logs of each worker: how many jobs this submission was for (the worker claims whatever is queued).
        containerOverrides: { environment: [{ name: "METAMERS_DISPATCHED_JOBS", value: String(jobIds.length) }] },
        tags: { "metamer-hub": "gpu-worker" },
      }),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
