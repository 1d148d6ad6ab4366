import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Route } from "./http.js";
import type { HttpRequest, HttpResult, SharedRoute } from "./shared-routes.js";

/** A shared route (shared-routes.ts) served by the Node HTTP server; its errors go to the server's error handling. */
export function nodeRoute(route: SharedRoute): Route {
  return {
    method: route.method,
    pattern: route.pattern,
    async handle(req, res, params, info) {
      const request: HttpRequest = {
        method: req.method!,
        url: info.url,
        headers: flatHeaders(req),
        // Not destroyed when the route stops reading (a refused upload): the server still answers on this socket.
        body: req.iterator({ destroyOnReturn: false }),
        clientAddress: req.socket.remoteAddress,
        requestId: info.requestId,
      };
      let result: HttpResult;
      try {
        result = await route.handle(request, params);
      } catch (e) {
        // Node discards an unread body by itself, but not one that was partly read: let the rest flow away, so the
        // connection stays usable (the error handler cuts it if the client keeps sending for long).
        req.resume();
        throw e;
      }
      await writeResult(res, result);
    },
  };
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}

export async function writeResult(res: ServerResponse, result: HttpResult): Promise<void> {
  res.writeHead(result.status, result.headers);
  const body = result.body;
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) {
    res.end(body);
    return;
  }
  try {
    await pipeline(body as Readable, res);
  } catch (e) {
    // A client that goes away mid-download is not a server error; anything else is reported (the connection is cut,
    // so the client sees fewer bytes than Content-Length promised).
    if ((e as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE" && res.destroyed) return;
    throw e;
  }
}

