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
  METAMERS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
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
});

export interface Limits {
  maxModelBytes: number;
  maxStimulusBytes: number;
  maxInlineBytes: number;
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
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  version: string;
  jobs: JobsConfig;
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

export const DEFAULT_LIMITS: Limits = { maxModelBytes: 2 * GiB, maxStimulusBytes: 64 * MiB, maxInlineBytes: 64 * MiB };

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
    },
    uploadTtlSeconds: e.METAMERS_UPLOAD_TTL_SECONDS,
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
