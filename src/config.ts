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
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  version: string;
  jobs: JobsConfig;
  api: ApiLimits;
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
  const workers = e.METAMERS_WORKERS ?? os.availableParallelism();
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
  };
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
