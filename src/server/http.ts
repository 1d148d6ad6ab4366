import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import type { AppConfig } from "../config.js";
import { AppError, isAppError, toPublicError } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import { experimentRoutes } from "./experiment-routes.js";
import { nodeRoute } from "./node-host.js";
import { httpStatus, sharedRoutes } from "./shared-routes.js";

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

export { REFUSED_QUERY_TOKENS } from "./graphql-route.js";

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
  const { services, log } = deps;
  // /graphql, /export, /blobs and /uploads are shared with the Lambda handler (functions/http.ts): shared-routes.ts.
  const routes: Route[] = [
    ...(deps.routes ?? []),
    ...experimentRoutes(services.participation),
    ...sharedRoutes(deps).map(nodeRoute),
  ];

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
