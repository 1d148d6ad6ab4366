// Every HTTP route of the API as one AWS Lambda handler (API Gateway HTTP API, payload v2): /graphql, /export/*,
// /blobs/*, PUT /uploads/<id> and POST /uploads/<id>/complete. The routes are the Node server's own
// (src/server/shared-routes.ts); this file only translates API Gateway's event and result to and from them.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Readable } from "node:stream";
import type { App } from "../src/app.js";
import { AppError } from "../src/errors.js";
import { errorResult, findRoute, sharedRoutes, type HttpRequest, type HttpResult } from "../src/server/shared-routes.js";

/**
 * Largest body a Lambda answers itself. A synchronous Lambda response is at most 6 MB, and binary bodies travel in
 * base64 (4/3 larger). A bigger answer (a large CSV export, a blob of a Postgres blob store) is written to the bucket
 * and redirected to where the blob store has one (S3), refused with PAYLOAD_TOO_LARGE otherwise.
 */
export const LAMBDA_BODY_BYTES = 4 * 1024 * 1024;

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export function createHttpHandler(app: App, options: { maxBodyBytes?: number } = {}): HttpHandler {
  const maxBodyBytes = options.maxBodyBytes ?? LAMBDA_BODY_BYTES;
  const routes = sharedRoutes({ apollo: app.apollo, services: app.services, config: app.config, log: app.log, contextFor: app.contextFor });

  /** A result as API Gateway wants it: text as text, bytes in base64, streams read whole (up to the limit). */
  async function toEvent(result: HttpResult, limit = maxBodyBytes): Promise<APIGatewayProxyStructuredResultV2> {
    let body = result.body;
    if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
      // A stream (a blob of the Postgres store): what does not fit cannot be answered from here.
      body = await readUpTo(body, limit + 1);
      if (body.byteLength > limit) throw tooLarge(limit);
    }
    const size = body === undefined ? 0 : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    if (size > limit) return toEvent(await spill(result, body!));
    const text = body === undefined || typeof body === "string" || isText(result.headers?.["content-type"]);
    return {
      statusCode: result.status,
      headers: result.headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : Buffer.from(body).toString(text ? "utf8" : "base64"),
      isBase64Encoded: !text,
    };
  }

  /** A body too large to answer: into the bucket, and the client redirected to a short-lived URL of it. */
  async function spill(result: HttpResult, body: string | Uint8Array): Promise<HttpResult> {
    const direct = app.store.blobs.direct;
    if (!direct || result.status !== 200) throw tooLarge(maxBodyBytes);
    // Content-addressed like every blob: the same export twice is one object. The presigned URL is its only way out
    // (no group is granted it), handed to the caller the route already authorized.
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const stored = await app.store.blobs.put(bytes, result.headers?.["content-type"] ?? "application/octet-stream");
    const filename = /filename="([^"]+)"/.exec(result.headers?.["content-disposition"] ?? "")?.[1];
    return { status: 302, headers: { location: await direct.presignGet(stored.sha256, app.config.s3?.presignSeconds ?? 300, { filename }), "cache-control": "no-store" } };
  }

  return async (event) => {
    const requestId = event.requestContext.requestId;
    const method = event.requestContext.http.method;
    const url = new URL(`${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ""}`, "https://lambda.invalid");
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
    if (event.cookies?.length) headers.cookie = event.cookies.join("; ");
    const bytes = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
    const request: HttpRequest = {
      method,
      url,
      headers,
      body: (async function* () {
        if (bytes.byteLength) yield bytes;
      })(),
      clientAddress: event.requestContext.http.sourceIp,
      requestId,
    };
    try {
      const match = findRoute(routes, method, url.pathname);
      if (!match) throw new AppError("NOT_FOUND", `no route for ${method} ${url.pathname}`);
      return await toEvent(await match.route.handle(request, match.params));
    } catch (e) {
      // Error bodies are a few hundred bytes: never subject to the limit (a refusal of a refusal would be nothing).
      return toEvent(errorResult(e, app.log), Infinity);
    }
  };
}

const tooLarge = (limit: number) =>
  new AppError(
    "PAYLOAD_TOO_LARGE",
    `response: a Lambda answers at most ${limit} bytes itself, this one has more; with the S3 blob store (METAMERS_BLOB_STORE=s3) large answers are redirected to the bucket instead`,
    { limit },
  );

const isText = (contentType: string | undefined) => !!contentType && /^(text\/|application\/(json|graphql-response\+json|javascript))/.test(contentType);

/** At most `limit` bytes of a stream (the rest is not read; the stream is destroyed). */
async function readUpTo(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    parts.push(piece);
    size += piece.byteLength;
    if (size >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(parts, size);
}
