import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { AppError } from "../errors.js";
import type { Services } from "../services/index.js";
import type { Route } from "./http.js";
import { parseRange } from "./range.js";

/**
 * GET and HEAD /blobs/<sha256>: a file streamed from the blob store with its length, whole or one byte range (206);
 * PUT /uploads/<id>: the bytes of a createUpload ticket, streamed into the blob store. Neither holds a file in memory.
 */
export function blobRoutes(services: Services): Route[] {
  const download = async (req: IncomingMessage, res: ServerResponse, sha256: string) => {
    const caller = await services.auth.authenticate(req.headers.authorization);
    const { blob, open } = await services.blobs.download(caller, sha256);
    const etag = `"${blob.sha256}"`;
    // If-Range: the range only applies to this exact file (the etag is its sha256, so it never changes).
    const ifRange = req.headers["if-range"];
    const wanted = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, blob.byteSize) : { kind: "full" as const };
    const headers = {
      "content-type": blob.contentType,
      "accept-ranges": "bytes",
      etag,
      "cache-control": "private, max-age=31536000, immutable",
    };
    if (wanted.kind === "unsatisfiable") {
      res.setHeader("content-range", `bytes */${blob.byteSize}`);
      throw new AppError("RANGE_NOT_SATISFIABLE", `${wanted.message} (the file has ${blob.byteSize} bytes)`, { byteSize: blob.byteSize });
    }
    const range = wanted.kind === "range" ? { start: wanted.start, end: wanted.end } : undefined;
    // Opened before the status line, so a failure to open is still a proper error answer.
    const stream = req.method === "HEAD" ? null : await open(range);
    if (range) {
      res.writeHead(206, {
        ...headers,
        "content-range": `bytes ${range.start}-${range.end}/${blob.byteSize}`,
        "content-length": range.end - range.start + 1,
      });
    } else {
      res.writeHead(200, { ...headers, "content-length": blob.byteSize });
    }
    if (!stream) {
      res.end();
      return;
    }
    try {
      await pipeline(stream, res);
    } catch (e) {
      // A client that goes away mid-download is not a server error; anything else is reported (the connection is cut,
      // so the client sees fewer bytes than Content-Length promised).
      if ((e as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE" && res.destroyed) return;
      throw e;
    }
  };

  return [
    { method: "GET", pattern: /^\/blobs\/([^/]+)$/, handle: (req, res, [sha256]) => download(req, res, sha256) },
    { method: "HEAD", pattern: /^\/blobs\/([^/]+)$/, handle: (req, res, [sha256]) => download(req, res, sha256) },
    {
      method: "PUT",
      pattern: /^\/uploads\/([^/]+)$/,
      async handle(req, res, [id]) {
        const caller = await services.auth.authenticate(req.headers.authorization);
        const declared = req.headers["content-length"];
        const contentLength = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
        // Not destroyed when the service stops reading (a refused upload): the HTTP layer still answers on this socket.
        const body = req.iterator({ destroyOnReturn: false });
        const result = await services.uploads.receive(caller, id, body, contentLength).catch((e: unknown) => {
          // Node discards an unread body by itself, but not one that was partly read: let the rest flow away, so the
          // connection stays usable (the error handler cuts it if the client keeps sending for long).
          req.resume();
          throw e;
        });
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ id, ...result }));
      },
    },
  ];
}
