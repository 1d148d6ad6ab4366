// The one reader of process.env. Everything else receives an AppConfig.
import os from "node:os";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { pgConfigFromUrl, type PgConfig } from "./store/pg-config.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("127.0.0.1"),
  METAMERS_DATA_DIR: z.string().default("./.data"),
  DATABASE_URL: z.string().optional(),
  /** The base URL clients use to reach this server (upload URLs are built from it). */
  METAMERS_PUBLIC_URL: z.string().url().optional(),
  METAMERS_MAX_MODEL_BYTES: bytes(2 * GiB),
  METAMERS_MAX_STIMULUS_BYTES: bytes(64 * MiB),
  /** Largest file accepted inline (base64 `data` in a mutation); bigger files go through createUpload. */
  METAMERS_MAX_INLINE_BYTES: bytes(64 * MiB),
  /** Untrusted-model inspection (README "Limits"): wall clock, address space, static tensor budget. */
  METAMERS_INSPECT_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  METAMERS_INSPECT_MEMORY_BYTES: bytes(4 * GiB),
  METAMERS_INSPECT_STATIC_BYTES: bytes(1 * GiB),
  /** Stimulus decoding (README "Limits"): pixels of a decoded image, elements of a stimulus tensor, WAV rates. */
  METAMERS_MAX_STIMULUS_PIXELS: bytes(64 * 1024 * 1024),
  METAMERS_MAX_STIMULUS_ELEMENTS: bytes(16 * 1024 * 1024),
  METAMERS_MIN_SAMPLE_RATE: z.coerce.number().int().positive().default(1_000),
  METAMERS_MAX_SAMPLE_RATE: z.coerce.number().int().positive().default(384_000),
  METAMERS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  /** Size of the rows the Postgres blob store cuts new files into (stored blobs keep their own). */
  METAMERS_BLOB_CHUNK_BYTES: z.coerce.number().int().min(4 * 1024).max(64 * MiB).default(8 * MiB),
  /** Where blob bytes live: postgres (chunk rows, the default) or s3 (a bucket; clients use presigned URLs). */
  METAMERS_BLOB_STORE: z.enum(["postgres", "s3"]).default("postgres"),
  METAMERS_S3_BUCKET: z.string().min(1).optional(),
  /** An S3-compatible server (MinIO, ...); unset = AWS. */
  METAMERS_S3_ENDPOINT: z.string().url().optional(),
  METAMERS_S3_REGION: z.string().default("us-east-1"),
  METAMERS_S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("false"),
  /** Multipart part size of streamed writes (S3 refuses parts under 5 MiB). */
  METAMERS_S3_PART_BYTES: z.coerce.number().int().min(5 * MiB).max(5 * GiB).default(8 * MiB),
  /** Lifetime of the presigned GET URLs that /blobs redirects to. */
  METAMERS_S3_PRESIGN_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(300),
  /** Synthesis/job workers: local = worker processes in this server; lambda = invoke METAMERS_LAMBDA_FUNCTION; none. */
  METAMERS_DISPATCHER: z.enum(["local", "lambda", "none"]).default("local"),
  /** Local pool size (default: one per core). */
  METAMERS_WORKERS: z.coerce.number().int().min(0).optional(),
  /**
   * onnxruntime intra-op threads per worker session (default: cores / workers, at least 1). More threads than cores
   * across the pool makes ORT's spinning thread pools fight over the cores.
   */
  METAMERS_SESSION_THREADS: z.coerce.number().int().positive().optional(),
  METAMERS_LAMBDA_FUNCTION: z.string().optional(),
  /** Any Lambda-compatible endpoint (e.g. a local emulator); unset = AWS. */
  METAMERS_LAMBDA_ENDPOINT: z.string().url().optional(),
  METAMERS_LAMBDA_REGION: z.string().default("us-east-1"),
  /** Cap on gradient steps per synthesis job (the paper's recipe takes 24,000). */
  METAMERS_MAX_STEPS: z.coerce.number().int().positive().default(50_000),
  /** onnxruntime execution providers for job workers, comma-separated (e.g. "cuda,cpu" on a GPU host); unset = CPU. */
  METAMERS_EXECUTION_PROVIDERS: z.string().optional(),
  /**
   * Cloud deployments: Secrets Manager secrets (name or ARN). The database secret holds the RDS JSON
   * ({ username, password, host, port, dbname }) and is read at cold start instead of DATABASE_URL; the admin-key
   * secret receives the first instance-admin key from the deploy-time bootstrap (functions/migrate).
   */
  METAMERS_DATABASE_SECRET: z.string().optional(),
  METAMERS_ADMIN_KEY_SECRET: z.string().optional(),
  /**
   * GPU workers on AWS Batch (src/dispatch/batch.ts): the job queue and job definition (names or ARNs) jobs are
   * submitted to, the most array children one dispatch starts, and the estimated work per job (FLOPs: forward and
   * backward of the model times its steps) from which the dispatch policy sends synthesis there.
   */
  METAMERS_BATCH_JOB_QUEUE: z.string().optional(),
  METAMERS_BATCH_JOB_DEFINITION: z.string().optional(),
  METAMERS_BATCH_REGION: z.string().default("us-east-1"),
  METAMERS_BATCH_ENDPOINT: z.string().url().optional(),
  METAMERS_BATCH_MAX_WORKERS: z.coerce.number().int().min(1).max(10_000).default(8),
  METAMERS_GPU_WORK_THRESHOLD: z.coerce.number().positive().default(1e13),
  /** A draining worker (the GPU worker) exits after finding nothing to claim for this long. */
  METAMERS_DRAIN_IDLE_MS: z.coerce.number().int().min(0).default(30_000),
  /** A job whose worker has not heartbeated for this long is handed to another worker. */
  METAMERS_JOB_LEASE_MS: z.coerce.number().int().positive().default(30_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Query limits and statistics threads (README "Limits"). */
  METAMERS_MAX_QUERY_COST: z.coerce.number().int().positive().default(10_000),
  METAMERS_MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(10),
  METAMERS_MAX_ALIASES: z.coerce.number().int().positive().default(256),
  METAMERS_MAX_QUERY_TOKENS: z.coerce.number().int().positive().default(10_000),
  /** Token bucket per API key (per client address without a key): requests per second; 0 turns it off. */
  METAMERS_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(100),
  METAMERS_RATE_LIMIT_BURST: z.coerce.number().int().positive().default(400),
  METAMERS_STATS_THREADS: z.coerce.number().int().positive().default(2),
  METAMERS_STATS_QUEUE: z.coerce.number().int().min(0).default(32),
  METAMERS_STATS_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /**
   * Collaborating labs (README "Collaborating labs"): this hub's name in its consortium (the subgraph's namespace
   * field, and the audience partner tokens must name), and the consortium whose signed tokens it accepts.
   */
  METAMERS_HUB_NAME: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, "expected a GraphQL name (a letter, then letters, digits or _)").default("hub"),
  METAMERS_CONSORTIUM_ID: z.string().min(1).max(128).optional(),
  /** The tokens' `iss`; default: the consortium id. */
  METAMERS_CONSORTIUM_ISSUER: z.string().min(1).optional(),
  /** The tokens' `aud`; default: METAMERS_HUB_NAME. */
  METAMERS_CONSORTIUM_AUDIENCE: z.string().min(1).optional(),
  /** The consortium's public signing key: a PEM file (SPKI), or a JWKS (a file, or an http(s) URL). */
  METAMERS_CONSORTIUM_PUBLIC_KEY: z.string().min(1).optional(),
  METAMERS_CONSORTIUM_JWKS: z.string().min(1).optional(),
});

export interface Limits {
  maxModelBytes: number;
  maxStimulusBytes: number;
  maxInlineBytes: number;
  /** Inspection of untrusted models (optional here so partial test configs keep working; DEFAULT_LIMITS fills in). */
  inspectTimeoutMs?: number;
  inspectMemoryBytes?: number;
  inspectStaticBytes?: number;
  /** Stimulus decoding: decoded image pixels, tensor elements (samples, C*H*W), accepted WAV sample rates. */
  maxStimulusPixels?: number;
  maxStimulusElements?: number;
  minSampleRate?: number;
  maxSampleRate?: number;
}

/** Settings of a running app. `database` is filled in by main.ts (embedded cluster) or from DATABASE_URL. */
export interface AppConfig {
  host: string;
  port: number;
  /** Base URL for links handed to clients; when unset, http://<host>:<port> of the listening server. */
  publicUrl?: string;
  dataDir: string;
  /** External PostgreSQL (from DATABASE_URL); undefined = start the embedded one under dataDir. */
  externalDatabase?: PgConfig;
  limits: Limits;
  uploadTtlSeconds: number;
  /** Chunk size of new blobs in the Postgres blob store. */
  blobChunkBytes: number;
  /** Blob bytes in S3 instead of PostgreSQL (METAMERS_BLOB_STORE=s3); absent = PostgreSQL. */
  s3?: S3Settings;
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  version: string;
  jobs: JobsConfig;
  api: ApiLimits;
  /** Secrets Manager secrets of a cloud deployment (src/cloud/secrets.ts); absent locally. */
  cloud?: CloudSecrets;
  /** This hub's name in a consortium: its subgraph's namespace field (`hub` when unset). */
  hubName: string;
  /** The consortium whose partner tokens this hub accepts; absent = it refuses every partner token. */
  consortium?: ConsortiumConfig;
}

/** A consortium of labs: who signs its partner tokens and what they must say (src/services/partner-identity.ts). */
export interface ConsortiumConfig {
  id: string;
  /** The tokens' issuer (`iss`). */
  issuer: string;
  /** The tokens' audience (`aud`): this hub. */
  audience: string;
  /** The signing key: a PEM file (SPKI public key)... */
  publicKeyFile?: string;
  /** ...or a JWKS: a file path or an http(s) URL. */
  jwks?: string;
}

export interface CloudSecrets {
  /** Secret with the database credentials (RDS JSON), read at cold start. */
  databaseSecret?: string;
  /** Secret the deploy-time bootstrap writes the first instance-admin key into. */
  adminKeySecret?: string;
}

/** The bucket of an S3 blob store (src/store/s3-blob-store.ts); credentials come from the AWS SDK's default chain. */
export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  partBytes: number;
  /** Lifetime of presigned download URLs (uploads' URLs live as long as the upload). */
  presignSeconds: number;
}

/** Limits on what one GraphQL request may ask for, the per-caller rate limit and the statistics threads. */
export interface ApiLimits {
  maxQueryCost: number;
  maxQueryDepth: number;
  maxAliases: number;
  maxQueryTokens: number;
  /** Requests per second refilled into each caller's bucket; 0 = no rate limit. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  statsThreads: number;
  statsQueue: number;
  statsTimeoutMs: number;
}

/** Job queue and dispatch settings (synthesis, null distributions, recognition). */
export interface JobsConfig {
  dispatcher: "local" | "lambda" | "none";
  workers: number;
  /** onnxruntime intra-op threads of each worker's sessions. */
  sessionThreads: number;
  lambdaFunction?: string;
  lambdaEndpoint?: string;
  lambdaRegion: string;
  maxSteps: number;
  leaseMs: number;
  executionProviders?: string[];
  /** AWS Batch GPU workers; absent = no GPU_BATCH target. */
  batch?: BatchConfig;
  /** Estimated FLOPs per synthesis job from which the dispatch policy picks GPU_BATCH (when configured). */
  gpuWorkThreshold: number;
  /** How long a draining worker waits with nothing claimable before it exits. */
  drainIdleMs: number;
}

export interface BatchConfig {
  jobQueue: string;
  jobDefinition: string;
  region: string;
  endpoint?: string;
  /** Most array children (GPU workers) one dispatch starts. */
  maxWorkers: number;
}

/** The service version reported by `health`: package.json's, read once. */
let version: string | undefined;
function packageVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../package.json");
  return (version ??= (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version);
}

export const DEFAULT_LIMITS: Required<Limits> = {
  maxModelBytes: 2 * GiB,
  maxStimulusBytes: 64 * MiB,
  maxInlineBytes: 64 * MiB,
  inspectTimeoutMs: 60_000,
  inspectMemoryBytes: 4 * GiB,
  inspectStaticBytes: 1 * GiB,
  maxStimulusPixels: 64 * 1024 * 1024,
  maxStimulusElements: 16 * 1024 * 1024,
  minSampleRate: 1_000,
  maxSampleRate: 384_000,
};

/** `limits` with every optional limit filled in from DEFAULT_LIMITS. */
export const withDefaultLimits = (limits: Limits): Required<Limits> => ({
  ...DEFAULT_LIMITS,
  ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
});

/** Reads and checks the environment; a bad value names the variable, what was expected and what arrived. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join(".")}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`,
    );
    throw new Error(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const e = parsed.data;
  if (e.METAMERS_BLOB_STORE === "s3" && !e.METAMERS_S3_BUCKET) {
    throw new Error("invalid configuration:\n  METAMERS_S3_BUCKET: expected a bucket name when METAMERS_BLOB_STORE=s3, got none");
  }
  const workers = e.METAMERS_WORKERS ?? os.availableParallelism();
  const consortium = consortiumConfig(e);
  return {
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.METAMERS_PUBLIC_URL,
    dataDir: path.resolve(e.METAMERS_DATA_DIR),
    externalDatabase: e.DATABASE_URL ? pgConfigFromUrl(e.DATABASE_URL) : undefined,
    limits: {
      maxModelBytes: e.METAMERS_MAX_MODEL_BYTES,
      maxStimulusBytes: e.METAMERS_MAX_STIMULUS_BYTES,
      maxInlineBytes: e.METAMERS_MAX_INLINE_BYTES,
      inspectTimeoutMs: e.METAMERS_INSPECT_TIMEOUT_MS,
      inspectMemoryBytes: e.METAMERS_INSPECT_MEMORY_BYTES,
      inspectStaticBytes: e.METAMERS_INSPECT_STATIC_BYTES,
      maxStimulusPixels: e.METAMERS_MAX_STIMULUS_PIXELS,
      maxStimulusElements: e.METAMERS_MAX_STIMULUS_ELEMENTS,
      minSampleRate: e.METAMERS_MIN_SAMPLE_RATE,
      maxSampleRate: e.METAMERS_MAX_SAMPLE_RATE,
    },
    uploadTtlSeconds: e.METAMERS_UPLOAD_TTL_SECONDS,
    blobChunkBytes: e.METAMERS_BLOB_CHUNK_BYTES,
    s3:
      e.METAMERS_BLOB_STORE === "s3"
        ? {
            bucket: e.METAMERS_S3_BUCKET!,
            region: e.METAMERS_S3_REGION,
            endpoint: e.METAMERS_S3_ENDPOINT,
            forcePathStyle: e.METAMERS_S3_FORCE_PATH_STYLE === "true",
            partBytes: e.METAMERS_S3_PART_BYTES,
            presignSeconds: e.METAMERS_S3_PRESIGN_SECONDS,
          }
        : undefined,
    logLevel: e.LOG_LEVEL,
    version: packageVersion(),
    jobs: {
      dispatcher: e.METAMERS_DISPATCHER,
      workers,
      sessionThreads: e.METAMERS_SESSION_THREADS ?? Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, workers))),
      lambdaFunction: e.METAMERS_LAMBDA_FUNCTION,
      lambdaEndpoint: e.METAMERS_LAMBDA_ENDPOINT,
      lambdaRegion: e.METAMERS_LAMBDA_REGION,
      maxSteps: e.METAMERS_MAX_STEPS,
      leaseMs: e.METAMERS_JOB_LEASE_MS,
      executionProviders: e.METAMERS_EXECUTION_PROVIDERS?.split(",").map((p) => p.trim()).filter(Boolean),
      batch: batchConfig(e),
      gpuWorkThreshold: e.METAMERS_GPU_WORK_THRESHOLD,
      drainIdleMs: e.METAMERS_DRAIN_IDLE_MS,
    },
    api: {
      maxQueryCost: e.METAMERS_MAX_QUERY_COST,
      maxQueryDepth: e.METAMERS_MAX_QUERY_DEPTH,
      maxAliases: e.METAMERS_MAX_ALIASES,
      maxQueryTokens: e.METAMERS_MAX_QUERY_TOKENS,
      rateLimitPerSecond: e.METAMERS_RATE_LIMIT_PER_SECOND,
      rateLimitBurst: e.METAMERS_RATE_LIMIT_BURST,
      statsThreads: e.METAMERS_STATS_THREADS,
      statsQueue: e.METAMERS_STATS_QUEUE,
      statsTimeoutMs: e.METAMERS_STATS_TIMEOUT_MS,
    },
    cloud:
      e.METAMERS_DATABASE_SECRET || e.METAMERS_ADMIN_KEY_SECRET
        ? { databaseSecret: e.METAMERS_DATABASE_SECRET || undefined, adminKeySecret: e.METAMERS_ADMIN_KEY_SECRET || undefined }
        : undefined,
    hubName: e.METAMERS_HUB_NAME,
    consortium,
  };
}

/** The consortium settings, or none; a key without a consortium, or a consortium without exactly one key, is refused. */
function consortiumConfig(e: z.infer<typeof EnvSchema>): ConsortiumConfig | undefined {
  const keys = [e.METAMERS_CONSORTIUM_PUBLIC_KEY && "METAMERS_CONSORTIUM_PUBLIC_KEY", e.METAMERS_CONSORTIUM_JWKS && "METAMERS_CONSORTIUM_JWKS"].filter(Boolean);
  if (!e.METAMERS_CONSORTIUM_ID) {
    if (keys.length > 0) throw new Error(`invalid configuration:\n  METAMERS_CONSORTIUM_ID: expected a consortium id with ${keys.join(" and ")}, got none`);
    return undefined;
  }
  if (keys.length !== 1) {
    throw new Error(
      `invalid configuration:\n  METAMERS_CONSORTIUM_PUBLIC_KEY / METAMERS_CONSORTIUM_JWKS: expected exactly one (the consortium's signing key), got ${keys.length === 0 ? "neither" : "both"}`,
    );
  }
  return {
    id: e.METAMERS_CONSORTIUM_ID,
    issuer: e.METAMERS_CONSORTIUM_ISSUER ?? e.METAMERS_CONSORTIUM_ID,
    audience: e.METAMERS_CONSORTIUM_AUDIENCE ?? e.METAMERS_HUB_NAME,
    publicKeyFile: e.METAMERS_CONSORTIUM_PUBLIC_KEY ? path.resolve(e.METAMERS_CONSORTIUM_PUBLIC_KEY) : undefined,
    jwks: e.METAMERS_CONSORTIUM_JWKS
      ? /^https?:\/\//.test(e.METAMERS_CONSORTIUM_JWKS) ? e.METAMERS_CONSORTIUM_JWKS : path.resolve(e.METAMERS_CONSORTIUM_JWKS)
      : undefined,
  };
}

/** The Batch settings: both the queue and the job definition, or neither. */
function batchConfig(e: z.infer<typeof EnvSchema>): BatchConfig | undefined {
  const { METAMERS_BATCH_JOB_QUEUE: jobQueue, METAMERS_BATCH_JOB_DEFINITION: jobDefinition } = e;
  if (!jobQueue && !jobDefinition) return undefined;
  if (!jobQueue || !jobDefinition) {
    const missing = jobQueue ? "METAMERS_BATCH_JOB_DEFINITION" : "METAMERS_BATCH_JOB_QUEUE";
    throw new Error(`invalid configuration:\n  ${missing}: expected it with ${jobQueue ? "METAMERS_BATCH_JOB_QUEUE" : "METAMERS_BATCH_JOB_DEFINITION"} (GPU workers on AWS Batch need both), got none`);
  }
  return { jobQueue, jobDefinition, region: e.METAMERS_BATCH_REGION, endpoint: e.METAMERS_BATCH_ENDPOINT, maxWorkers: e.METAMERS_BATCH_MAX_WORKERS };
}

/** A config for tests and embedding: defaults everywhere, overridable. */
export function defaultConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return { ...loadConfig({}), ...overrides };
}

/** What the command-line client reads from the environment (flags override it; the local data dir fills gaps). */
export interface CliEnvironment {
  url?: string;
  apiKey?: string;
  dataDir: string;
  externalDatabase?: PgConfig;
}

export function loadCliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return {
    url: env.METAMERS_URL || undefined,
    apiKey: env.METAMERS_API_KEY || undefined,
    dataDir: path.resolve(env.METAMERS_DATA_DIR || "./.data"),
    externalDatabase: env.DATABASE_URL ? pgConfigFromUrl(env.DATABASE_URL) : undefined,
  };
}
