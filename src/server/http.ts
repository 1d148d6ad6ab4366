import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import type { AppConfig } from "../config.js";
import { AppError, isAppError, toPublicError, type ErrorCode } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import { blobRoutes } from "./blob-routes.js";
import { readBody } from "./body.js";
import { exportRoutes } from "./export.js";
import { experimentRoutes } from "./experiment-routes.js";
import { RateLimiter } from "./rate-limit.js";

export interface Route {
  method: string;
  /** Matched against the URL path; capture groups become `params`. */
  pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, params: string[], request: RequestInfo): Promise<void>;
}

export interface RequestInfo {
  requestId: string;
  url: URL;
}

interface HttpDeps {
  apollo: ApolloServer<GraphQLContext>;
  services: Services;
  config: AppConfig;
  log: Logger;
  /** The per-request GraphQL context (shared with the Lambda handler). */
  contextFor(authorization: string | undefined, requestId: string): Promise<GraphQLContext>;
  /** Extra routes (tried before the built-in ones), e.g. a web page. */
  routes?: Route[];
}

/** Rate-limit tokens a GraphQL request refused with 400 costs (a valid one costs 1): see RateLimiter.charge. */
export const REFUSED_QUERY_TOKENS = 10;

const httpStatus: Partial<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
};

/** JSON error body in the same shape as GraphQL errors: `{ errors: [{ message, extensions: { code } }] }`. */
export function sendError(res: ServerResponse, e: unknown, log: Logger): void {
  const err = toPublicError(e, log, {}, "unexpected error in HTTP handler");
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(httpStatus[err.code] ?? 500, { "content-type": "application/json; charset=utf-8", connection: "close" });
  res.end(JSON.stringify({ errors: [{ message: err.message, extensions: { ...err.details, code: err.code } }] }));
}

/**
 * Reads and discards what is left of a refused request's body (up to 64 MiB or 5 s), so the client receives the
 * error response instead of a connection reset; beyond that the connection is cut.
 */
async function drainRequest(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return;
  await new Promise<void>((resolve) => {
    let drained = 0;
    const stop = () => {
      clearTimeout(timer);
      req.off("data", onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > 64 * 1024 * 1024) {
        req.destroy();
        stop();
      }
    };
    const timer = setTimeout(() => {
      req.destroy();
      stop();
    }, 5000);
    req.on("data", onData);
    req.once("end", stop);
    req.once("error", stop);
    req.resume();
  });
}

/**
 * A body over the limit: answer 413 at once, without `connection: close`, so that Node reads and discards the rest
 * of the body (its own dump of an unread request) while the client finishes sending, and the client reads the
 * answer instead of a reset (closing with unread data in the socket sends an RST). A client still sending after
 * `graceMs` has its connection cut.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, err: AppError, graceMs = 10_000): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(413, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify({ errors: [{ message: err.message, extensions: { ...err.details, code: err.code } }] }));
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), graceMs);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  req.once("close", () => clearTimeout(timer));
}

/**
 * The HTTP edge: /graphql (Apollo), GET/HEAD /blobs/<sha256> (blob-routes.ts), PUT /uploads/<id>, and a human
 * experiment's participant page and its routes under /experiments/<id>/ (experiment-routes.ts).
 */
export function createHttpServer(deps: HttpDeps): http.Server {
  const { apollo, services, config, log } = deps;
  // One bucket per API key (per client address without a valid key); requests over it get 429 before their body is read.
  const rateLimiter = new RateLimiter({ perSecond: config.api.rateLimitPerSecond, burst: config.api.rateLimitBurst });
  // Inline base64 grows files by 4/3; leave 1 MiB for the rest of the query.
  const graphqlBodyLimit = Math.ceil((config.limits.maxInlineBytes * 4) / 3) + 1024 * 1024;

  const routes: Route[] = [
    ...(deps.routes ?? []),
    ...exportRoutes(services),
    ...experimentRoutes(services.participation),
    ...blobRoutes(services),
    {
      method: "POST",
      pattern: /^\/graphql\/?$/,
      handle: (req, res, _p, info) => graphql(req, res, info),
    },
    {
      method: "GET",
      pattern: /^\/graphql\/?$/,
      handle: (req, res, _p, info) => graphql(req, res, info),
    },
  ];

  async function graphql(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    const context: GraphQLContext = {
      ...(await deps.contextFor(req.headers.authorization, info.requestId)),
      clientAddress: req.socket.remoteAddress,
    };
    const bucket = "apiKeyId" in context.caller ? `key:${context.caller.apiKeyId}` : `ip:${req.socket.remoteAddress ?? "?"}`;
    const wait = rateLimiter.take(bucket);
    if (wait > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(wait));
      res.setHeader("retry-after", String(retryAfterSeconds));
      throw new AppError(
        "RATE_LIMITED",
        `rate limit: at most ${config.api.rateLimitPerSecond} requests per second (bursts of ${config.api.rateLimitBurst}) per ${bucket.startsWith("key:") ? "API key" : "client address without a key"}; retry in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    const raw = req.method === "POST" ? await readBody(req, graphqlBodyLimit) : Buffer.alloc(0);
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new AppError("BAD_USER_INPUT", "request body: expected JSON ({ query, variables }), got unparsable text");
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method!, headers, search: info.url.search, body },
      context: async () => context,
    });
    // A query refused before execution (unparsable, invalid, over a limit) costs REFUSED_QUERY_TOKENS in all.
    if (result.status === 400) rateLimiter.charge(bucket, REFUSED_QUERY_TOKENS - 1);
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of result.headers) outHeaders[k] = v;
    res.writeHead(result.status ?? 200, outHeaders);
    if (result.body.kind === "complete") {
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  return http.createServer((req, res) => {
    const started = performance.now();
    const info: RequestInfo = { requestId: randomUUID(), url: new URL(req.url ?? "/", "http://localhost") };
    const match = routes
      .filter((r) => r.method === req.method)
      .map((r) => ({ r, m: r.pattern.exec(info.url.pathname) }))
      .find((x) => x.m);
    const done = () =>
      log.info(
        { requestId: info.requestId, method: req.method, path: info.url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) },
        "http",
      );
    res.on("finish", done);
    if (!match) {
      sendError(res, new AppError("NOT_FOUND", `no route for ${req.method} ${info.url.pathname}`), log);
      return;
    }
    match.r
      .handle(req, res, match.m!.slice(1), info)
      .catch(async (e) => {
        if (isAppError(e) && e.code === "PAYLOAD_TOO_LARGE") return refuseTooLarge(req, res, e);
        await drainRequest(req);
        sendError(res, e, log);
      });
  });
}
