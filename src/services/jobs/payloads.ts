// What each job kind carries in Job.payload (JSON), as zod schemas: the enqueuing code writes a typed payload, the
// handler reads it back through `readPayload`, which checks it instead of trusting a cast. A row that does not match
// (written by another version, edited by hand) fails its job with a message naming the field, never runs it on
// garbage.
import { z } from "zod";
import type { SynthesisConfig } from "../../engine/index.js";
import { AppError } from "../../errors.js";
import type { JobKind, JobRecord } from "../../store/jobs.js";

const positiveInt = z.number().int().positive();
const positive = z.number().positive();

/** The engine's SynthesisConfig as resolveSynthesisConfig produced it (its checks, repeated as types). */
const synthesisConfig: z.ZodType<SynthesisConfig> = z.discriminatedUnion("recipe", [
  z.object({ recipe: z.literal("FEATHER_2023"), rounds: positiveInt, stepsPerRound: positiveInt, initialStep: positive, historyEvery: positiveInt }),
  z.object({
    recipe: z.literal("ADAM_RANGE_PENALTY"),
    loss: z.enum(["normalizedL2", "mse"]),
    maxSteps: positiveInt,
    learningRate: positive,
    beta1: z.number().min(0).lt(1),
    beta2: z.number().min(0).lt(1),
    epsilon: positive,
    rangePenalty: z.number().min(0),
    stopWindow: positiveInt,
    stopTolerance: z.number().min(0),
    historyEvery: positiveInt,
  }),
]);

const seed = z.number().int().min(0);
const id = z.string().min(1);

/** A SYNTHESIS job: everything a worker needs besides the model and stimulus rows. */
const synthesisPayload = z.object({
  seed,
  config: synthesisConfig,
  /** The stage as a tensor name, and as the caller named it. */
  stage: z.string().min(1),
  stageRequested: z.string(),
  fakeRelu: z.boolean(),
  setId: id,
  /**
   * The NULL_DISTRIBUTION job this job's certificate waits for (null when the null already existed). Jobs queued
   * before it existed have none, which means the same.
   */
  nullJobId: id.nullable().default(null),
  /** The ReferenceNull row (of this stage) the certificate is judged against; null: the per-set null of `setId`. */
  referenceNullId: id.nullable().default(null),
  checkpointEvery: positiveInt,
});

/** The engine's AugmentationSpec as resolveAugmentation produced it. */
const augmentationSpec = z.object({
  cropMinScale: z.number().gt(0).max(1).nullable(),
  flip: z.boolean(),
  jitter: z.number().min(0).max(0.5),
  noiseSnrDb: z.object({ min: z.number(), max: z.number() }).nullable(),
});

/**
 * A NULL_DISTRIBUTION job: one stimulus set, measured at these stages with `n` seeded pairs. With
 * `referenceNullIds` (one ReferenceNull row per stage, same order) it computes a model-level reference null, streamed
 * in pools and optionally augmented, into those rows instead of the per-set null.
 */
const nullDistributionPayload = z.object({
  setId: id,
  stages: z.array(z.string().min(1)).min(1),
  n: positiveInt,
  seed,
  referenceNullIds: z.array(id).optional(),
  augmentation: augmentationSpec.nullable().optional(),
});

/** A RECOGNITION job: the recognizer is Job.modelId; these are the items it classifies (its backlog joins them). */
const recognitionPayload = z.object({
  metamerIds: z.array(id).optional(),
  stimulusIds: z.array(id).optional(),
});

/** A ROBUSTNESS job: one chunk of an evaluation's stimuli (the attack itself is on the RobustnessEvaluation row). */
const robustnessPayload = z.object({
  evaluationId: id,
  stimulusIds: z.array(id).min(1),
});

export type SynthesisPayload = z.infer<typeof synthesisPayload>;
export type NullDistributionPayload = z.infer<typeof nullDistributionPayload>;
export type RecognitionPayload = z.infer<typeof recognitionPayload>;
export type RobustnessPayload = z.infer<typeof robustnessPayload>;

const SCHEMAS = {
  SYNTHESIS: synthesisPayload,
  NULL_DISTRIBUTION: nullDistributionPayload,
  RECOGNITION: recognitionPayload,
  ROBUSTNESS: robustnessPayload,
} satisfies Record<JobKind, z.ZodType>;

type PayloadOf = { [K in JobKind]: z.infer<(typeof SCHEMAS)[K]> };

/**
 * The payload of a claimed job, checked against its kind's schema. A mismatch is an INTERNAL error (the row was not
 * written by this code), reported with the job, the field, what was expected and what is there.
 */
export function readPayload<K extends JobKind>(job: Pick<JobRecord, "id" | "payload">, kind: K): PayloadOf[K] {
  const parsed = SCHEMAS[kind].safeParse(job.payload);
  if (parsed.success) return parsed.data as PayloadOf[K];
  const problems = parsed.error.issues.map((i) => `${["payload", ...i.path].join(".")}: ${i.message}`).join("; ");
  throw new AppError("INTERNAL", `job ${job.id}: its ${kind} payload does not match the schema (${problems})`);
}

/** A payload of `kind` as the JSON object its job row stores (typed here, so `readPayload` can read it back). */
export function jobPayload<K extends JobKind>(_kind: K, payload: PayloadOf[K]): Record<string, unknown> {
  return { ...payload };
}

/** A SynthesisConfig as the JSON object a batch or metamer row stores. */
export const configJson = (config: SynthesisConfig): Record<string, unknown> => ({ ...config });
