import { JSONObjectResolver, JSONResolver } from "graphql-scalars";
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { JobStatus, type MetamerView, type SynthesisJobView } from "../../services/views.js";
import { NullSourceInput } from "./reference-null.types.js";
import { Certificate, HistoryPoint, SoftwareVersion, SynthesisConfig } from "./science.types.js";
import { certificateView, historyView, synthesisConfigView } from "../../services/science-views.js";
import { jobProgressView } from "../../services/progress.js";

export enum SynthesisRecipeEnum {
  FEATHER_2023 = "FEATHER_2023",
  ADAM_RANGE_PENALTY = "ADAM_RANGE_PENALTY",
}
/** The database's job states (prisma/schema.prisma), exposed as they are. */
export const JobStatusEnum = JobStatus;
export type JobStatusEnum = JobStatus;
export enum SynthesisLossEnum {
  normalizedL2 = "normalizedL2",
  mse = "mse",
}
registerEnumType(SynthesisRecipeEnum, {
  name: "SynthesisRecipe",
  description: "FEATHER_2023: the paper's recipe (default); ADAM_RANGE_PENALTY: Adam with a range penalty and a flat-loss stop",
});
registerEnumType(JobStatusEnum, { name: "JobStatus" });
registerEnumType(SynthesisLossEnum, { name: "SynthesisLoss" });
/** Where a batch's jobs run (services/dispatch-policy.ts); the same strings as the service's DispatchTarget. */
export enum DispatchTargetEnum {
  LOCAL = "LOCAL",
  LAMBDA = "LAMBDA",
  GPU_BATCH = "GPU_BATCH",
}
registerEnumType(DispatchTargetEnum, {
  name: "DispatchTarget",
  description: "LOCAL: the server's worker processes; LAMBDA: the synthesis function; GPU_BATCH: GPU workers on AWS Batch",
});

@InputType({ description: "Unset fields take the recipe's defaults (FEATHER_2023: 8 rounds x 3000 steps from step 1)" })
export class SynthesisConfigInput {
  @Field(() => SynthesisRecipeEnum, { nullable: true }) recipe?: SynthesisRecipeEnum | null;
  @Field(() => Int, { nullable: true, description: "FEATHER_2023: rounds; the step halves after each" }) rounds?: number | null;
  @Field(() => Int, { nullable: true, description: "FEATHER_2023: gradient steps per round" }) stepsPerRound?: number | null;
  @Field(() => Float, { nullable: true, description: "FEATHER_2023: step length of the first round" }) initialStep?: number | null;
  @Field(() => Int, { nullable: true, description: "record the history every this many steps" }) historyEvery?: number | null;
  @Field(() => SynthesisLossEnum, { nullable: true, description: "ADAM_RANGE_PENALTY" }) loss?: SynthesisLossEnum | null;
  @Field(() => Int, { nullable: true, description: "ADAM_RANGE_PENALTY" }) maxSteps?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY" }) learningRate?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY" }) beta1?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY" }) beta2?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY" }) epsilon?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY: weight of the quadratic out-of-range penalty" }) rangePenalty?: number | null;
  @Field(() => Int, { nullable: true, description: "ADAM_RANGE_PENALTY: steps over which the relative loss change is measured" }) stopWindow?: number | null;
  @Field(() => Float, { nullable: true, description: "ADAM_RANGE_PENALTY: stop when the relative change falls below this" }) stopTolerance?: number | null;
}

@InputType()
export class SynthesizeMetamersInput {
  @Field(() => ID) modelId: string;
  @Field(() => [String], { description: "tensor names or stage labels" }) stages: string[];
  @Field(() => [ID]) stimulusIds: string[];
  @Field(() => SynthesisConfigInput, { nullable: true }) config?: SynthesisConfigInput | null;
  @Field(() => Int, { nullable: true, description: "default 0; one noise draw per (stimulus, seed), shared by all stages" }) seed?: number | null;
  @Field(() => [Int], { nullable: true, description: "several metamers per target: one per (stimulus, stage, seed), at most 32 distinct seeds; each seed's noise draw is shared by all stages" })
  seeds?: number[] | null;
  @Field(() => String, { nullable: true, description: "a repeated request with the same key returns the first batch" }) idempotencyKey?: string | null;
  @Field(() => DispatchTargetEnum, {
    nullable: true,
    description: "where the jobs run; unset: GPU_BATCH when configured and the estimated FLOPs per job reach METAMERS_GPU_WORK_THRESHOLD, else the hub's dispatcher",
  })
  target?: DispatchTargetEnum | null;
  @Field(() => NullSourceInput, {
    nullable: true,
    description: "the reference null the certificates use (an existing one or a reference set); unset: pairs of each stimulus's own set (underpowered)",
  })
  nullSource?: NullSourceInput | null;
}

@ObjectType({ description: "A job's steps and loss as its worker last reported them (throttled heartbeats, about every 2 s and at round ends)" })
export class JobProgress {
  @Field(() => Int, { description: "gradient steps done" }) iteration: number;
  @Field(() => Int, { description: "gradient steps the schedule has" }) totalIterations: number;
  @Field(() => Float, { nullable: true, description: "the loss at the latest reported step" }) loss: number | null;
  @Field(() => Float, { description: "iteration / totalIterations in [0, 1]; 1 once the job has ended" }) fraction: number;
  @Field(() => Float, { nullable: true, description: "steps per second the worker measured over its current attempt" }) stepsPerSecond: number | null;
  @Field(() => Date, { nullable: true, description: "when the worker last reported; null before its first report" }) reportedAt: Date | null;
  @Field(() => Float, { nullable: true, description: "seconds left at the measured rate; 0 once ended; null while queued or before a rate exists" })
  etaSeconds: number | null;
}

@ObjectType({ description: "One stage's share of a batch" })
export class StageProgress {
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => String, { nullable: true }) stageLabel: string | null;
  @Field(() => Int) jobsTotal: number;
  @Field(() => Int, { description: "succeeded, failed or cancelled" }) jobsDone: number;
  @Field(() => Float) stepsTotal: number;
  @Field(() => Float) stepsDone: number;
  @Field(() => Float, { nullable: true, description: "mean latest loss of the stage's jobs that reported one" }) meanLoss: number | null;
}

@ObjectType({
  description:
    "A batch's progress: jobs and gradient steps (an ended job counts all its steps), and an ETA from the batch's measured throughput (steps done / time since its first job started)",
})
export class BatchProgress {
  @Field(() => Int, { description: "every job of the batch (the real count, also on an idempotent replay)" }) jobsTotal: number;
  @Field(() => Int, { description: "succeeded + failed + cancelled" }) jobsDone: number;
  @Field(() => Int) jobsSucceeded: number;
  @Field(() => Int) jobsFailed: number;
  @Field(() => Int) jobsCancelled: number;
  @Field(() => Int) jobsRunning: number;
  @Field(() => Int) jobsQueued: number;
  @Field(() => Float) stepsTotal: number;
  @Field(() => Float) stepsDone: number;
  @Field(() => Float, { description: "stepsDone / stepsTotal in [0, 1]" }) fraction: number;
  @Field(() => Float, { nullable: true, description: "the batch's measured throughput, all workers together" }) stepsPerSecond: number | null;
  @Field(() => Float, { nullable: true, description: "seconds until every job has ended at the measured rate; 0 when all have; null until there is a rate" })
  etaSeconds: number | null;
  @Field(() => Date, { nullable: true, description: "when the step counts were last measured" }) observedAt: Date | null;
  @Field(() => [StageProgress], { description: "per stage, in tensor-name order" }) byStage: StageProgress[];
}

@ObjectType()
export class JobError {
  @Field() code: string;
  @Field() message: string;
}

@ObjectType()
export class MetamerRef {
  @Field(() => ID) id: string;
}

@ObjectType({ description: "One (stimulus, stage) synthesis, queued in PostgreSQL" })
export class SynthesisJob {
  @Field(() => ID) id: string;
  @Field(() => ID, { nullable: true }) batchId: string | null;
  @Field(() => JobStatusEnum) status: JobStatusEnum;
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => Int) attempts: number;
  @Field(() => Int) maxAttempts: number;
  @Field(() => JobProgress, { description: "steps, total, loss and ETA as the worker last reported them" }) progress: JobProgress;
  @Field(() => MetamerRef, { nullable: true }) metamer: MetamerRef | null;
  @Field(() => JobError, { nullable: true }) error: JobError | null;
  @Field(() => Date) createdAt: Date;
  @Field(() => Date, { nullable: true }) startedAt: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt: Date | null;
  // stimulus is resolved by SynthesisJobResolver
  stimulusId: string;
}

@ObjectType()
export class JobCounts {
  @Field(() => Int) queued: number;
  @Field(() => Int) running: number;
  @Field(() => Int) succeeded: number;
  @Field(() => Int) failed: number;
  @Field(() => Int) cancelled: number;
}

@ObjectType({ description: "The jobs of one synthesizeMetamers request" })
export class SynthesisBatch {
  @Field(() => ID) id: string;
  @Field(() => ID) modelId: string;
  @Field(() => JSONObjectResolver, { deprecationReason: "use synthesisConfig (typed); kept for one minor version" }) config: Record<string, unknown>;
  @Field(() => SynthesisConfig) synthesisConfig: SynthesisConfig;
  @Field(() => Int) seed: number;
  @Field(() => String, { nullable: true }) idempotencyKey: string | null;
  @Field(() => Date, { nullable: true }) cancelledAt: Date | null;
  @Field(() => Date, { nullable: true, description: "when it was archived (hidden from lists, still readable by id); null if not" })
  archivedAt?: Date | null;
  @Field(() => Date) createdAt: Date;
  @Field(() => JobCounts) counts: JobCounts;
  // jobs(...) is resolved by SynthesisBatchResolver
}

@ObjectType({ description: "A synthesized model metamer with its validation certificate" })
export class Metamer {
  @Field(() => ID) id: string;
  @Field(() => ID) jobId: string;
  @Field({ description: "the stage as a tensor name" }) stage: string;
  @Field(() => Int) seed: number;
  @Field(() => JSONObjectResolver, { deprecationReason: "use synthesisConfig (typed); kept for one minor version" }) config: Record<string, unknown>;
  @Field(() => SynthesisConfig) synthesisConfig: SynthesisConfig;
  @Field(() => JSONResolver, {
    description: "[{ iteration, loss, gradientNorm, stepSize }], then { final, iteration, loss, stopReason }",
    deprecationReason: "use historyPoints (typed); kept for one minor version",
  })
  history: unknown[];
  @Field(() => [HistoryPoint]) historyPoints: HistoryPoint[];
  @Field(() => JSONObjectResolver, {
    description: "{ similarity {spearman pearson snr}, null {n seed maxima source}, metrics, passedNull, uninformative, underpowered, naturalLabel, metamerLabel, passedLabel, passed }",
    deprecationReason: "use validation (typed); kept for one minor version",
  })
  certificate: Record<string, unknown>;
  @Field(() => Certificate, { description: "the validation certificate: similarity, the null (source, maxima), per-metric verdicts, markers" })
  validation: Certificate;
  @Field() passed: boolean;
  @Field({ description: "the saved rendering (8-bit PNG / 32-bit float WAV)" }) renderingUrl: string;
  @Field({ description: "the float32 tensor (little-endian, model input shape)" }) tensorUrl: string;
  @Field({ description: "sha256 of the float32 tensor" }) sha256: string;
  @Field() renderingSha256: string;
  @Field(() => JSONObjectResolver, { description: "node, onnxruntime-node, service version, model sha256", deprecationReason: "use software (typed); kept for one minor version" })
  softwareVersions: Record<string, string>;
  @Field(() => [SoftwareVersion], { description: "node, onnxruntime-node, service version, model sha256" }) software: SoftwareVersion[];
  @Field(() => Date) createdAt: Date;
  // model and stimulus are resolved by MetamerResolver
  modelId: string;
  stimulusId: string;
}

export function toSynthesisJob(job: SynthesisJobView, metamerId: string | null): SynthesisJob {
  return Object.assign(new SynthesisJob(), {
    id: job.id,
    batchId: job.batchId,
    status: job.status as JobStatusEnum,
    stage: job.stage ?? "",
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    progress: jobProgressView(job, new Date()),
    metamer: metamerId ? { id: metamerId } : null,
    error: job.errorCode && job.status !== "SUCCEEDED" ? { code: job.errorCode, message: job.errorMessage ?? "" } : null,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    stimulusId: job.stimulusId ?? "",
  });
}

export function toMetamer(m: MetamerView, blobUrl: (sha256: string) => string): Metamer {
  return Object.assign(new Metamer(), {
    ...m,
    validation: certificateView(m.certificate),
    synthesisConfig: synthesisConfigView(m.config),
    historyPoints: historyView(m.history),
    software: Object.entries(m.softwareVersions).map(([name, version]) => ({ name, version: String(version) })),
    renderingUrl: blobUrl(m.renderingSha256),
    tensorUrl: blobUrl(m.tensorSha256),
  });
}
