import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import { parseRange } from "./range.js";
import { errorResult, type HttpRequest, type HttpResult, type SharedRoute } from "./shared-routes.js";

/**
 * GET and HEAD /blobs/<sha256>: a file of the caller's group, whole or one byte range (206), streamed from the blob
 * store; where the store has presigned URLs (S3), GET answers 302 to one instead (after the same authorization), so the
 * bytes never pass through the API. PUT /uploads/<id>: the bytes of a createUpload ticket, streamed into the blob store.
 * POST /uploads/<id>/complete: checks what a client PUT to a presigned upload URL and makes it a blob. Nothing here
 * holds a file in memory.
 */
export function blobRoutes(services: Services, log: Logger): SharedRoute[] {
  const download = async (req: HttpRequest, sha256: string): Promise<HttpResult> => {
    const caller = await services.auth.authenticate(req.headers.authorization);
    const { blob, open, presigned } = await services.blobs.download(caller, sha256);
    const etag = `"${blob.sha256}"`;
    const headers = {
      "content-type": blob.contentType,
      "accept-ranges": "bytes",
      etag,
      "cache-control": "private, max-age=31536000, immutable",
    };
    if (presigned && req.method === "GET") {
      // The bucket answers ranges itself; clients drop the Authorization header on a redirect to another host.
      // no-store: the presigned URL expires, the redirect must not outlive it in a cache.
      return { status: 302, headers: { location: await presigned(), "cache-control": "no-store" } };
    }
    // If-Range: the range only applies to this exact file (the etag is its sha256, so it never changes).
    const ifRange = req.headers["if-range"];
    const wanted = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, blob.byteSize) : { kind: "full" as const };
    if (wanted.kind === "unsatisfiable") {
      const err = new AppError("RANGE_NOT_SATISFIABLE", `${wanted.message} (the file has ${blob.byteSize} bytes)`, { byteSize: blob.byteSize });
      return errorResult(err, log, { "content-range": `bytes */${blob.byteSize}` });
    }
    const range = wanted.kind === "range" ? { start: wanted.start, end: wanted.end } : undefined;
    // Opened before the status line, so a failure to open is still a proper error answer.
    const body = req.method === "HEAD" ? undefined : await open(range);
    if (range) {
      return {
        status: 206,
        headers: { ...headers, "content-range": `bytes ${range.start}-${range.end}/${blob.byteSize}`, "content-length": String(range.end - range.start + 1) },
        body,
      };
    }
    return { status: 200, headers: { ...headers, "content-length": String(blob.byteSize) }, body };
  };

  const json = (value: unknown): HttpResult => ({
    status: 200,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify(value),
  });

  return [
    { method: "GET", pattern: /^\/blobs\/([^/]+)$/, handle: (req, [sha256]) => download(req, sha256) },
    { method: "HEAD", pattern: /^\/blobs\/([^/]+)$/, handle: (req, [sha256]) => download(req, sha256) },
    {
      method: "PUT",
      pattern: /^\/uploads\/([^/]+)$/,
      async handle(req, [id]) {
        const caller = await services.auth.authenticate(req.headers.authorization);
        const declared = req.headers["content-length"];
        const contentLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
        return json({ id, ...(await services.uploads.receive(caller, id, req.body, contentLength)) });
      },
    },
    {
      method: "POST",
      pattern: /^\/uploads\/([^/]+)\/complete$/,
      async handle(req, [id]) {
        const caller = await services.auth.authenticate(req.headers.authorization);
        return json({ id, ...(await services.uploads.complete(caller, id)) });
      },
    },
  ];
}
