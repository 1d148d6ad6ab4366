// Routes written once for both hosts: the Node HTTP server (src/server/http.ts, through node-host.ts) and the Lambda
// handler behind API Gateway (functions/http.ts). A route sees a plain request (method, URL, headers, body as a byte
// stream) and returns a plain result; each host turns those into its own wire format.
import type { Readable } from "node:stream";
import type { ApolloServer } from "@apollo/server";
import type { AppConfig } from "../config.js";
import { AppError, toPublicError, type ErrorCode } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import { blobRoutes } from "./blob-routes.js";
import { exportRoutes } from "./export.js";
import { graphqlRoutes } from "./graphql-route.js";

export interface HttpRequest {
  method: string;
  url: URL;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as it arrives; a route that refuses early stops reading, and the host deals with the rest. */
  body: AsyncIterable<Uint8Array>;
  /** The client's address, for rate limits of callers without a key. */
  clientAddress?: string;
  requestId: string;
}

export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  /** Absent for HEAD and redirects; a stream for large bodies (the Node host pipes it, Lambda reads it up to its limit). */
  body?: string | Uint8Array | Readable;
}

export interface SharedRoute {
  method: string;
  /** Matched against the URL path; capture groups become `params`. */
  pattern: RegExp;
  handle(req: HttpRequest, params: string[]): Promise<HttpResult>;
}

export interface SharedRouteDeps {
  apollo: ApolloServer<GraphQLContext>;
  services: Services;
  config: AppConfig;
  log: Logger;
  contextFor(authorization: string | undefined, requestId: string): Promise<GraphQLContext>;
}

/** Every route both hosts serve: /graphql, /export/*, /blobs/*, the uploads' PUT and completion. */
export function sharedRoutes(deps: SharedRouteDeps): SharedRoute[] {
  return [...exportRoutes(deps.services), ...blobRoutes(deps.services, deps.log), ...graphqlRoutes(deps)];
}

/** The route for a method and path, with its captured parameters. */
export function findRoute<R extends { method: string; pattern: RegExp }>(routes: R[], method: string, path: string): { route: R; params: string[] } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m) return { route, params: m.slice(1) };
  }
  return null;
}

export const httpStatus: Partial<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
};

/**
 * An error as a result: the JSON body in the same shape as GraphQL errors (`{ errors: [{ message, extensions }] }`),
 * the HTTP status of its code; anything but an AppError becomes INTERNAL with a reference id (details in the log).
 */
export function errorResult(e: unknown, log: Logger, headers: Record<string, string> = {}): HttpResult {
  const err = toPublicError(e, log, {}, "unexpected error in HTTP handler");
  return {
    status: httpStatus[err.code] ?? 500,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify({ errors: [{ message: err.message, extensions: { ...err.details, code: err.code } }] }),
  };
}

/** Reads a whole request body up to `limit` bytes; PAYLOAD_TOO_LARGE as soon as it is exceeded (or declared so). */
export async function readRequestBody(req: HttpRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw bodyTooLarge(limit, declared);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > limit) throw bodyTooLarge(limit, size);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

const bodyTooLarge = (limit: number, got: number) =>
  new AppError(
    "PAYLOAD_TOO_LARGE",
    `request body: at most ${limit} bytes accepted here, got ${got}; send large files with createUpload and PUT them to its url`,
    { limit },
  );
