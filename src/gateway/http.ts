// The gateway's HTTP server: POST/GET /graphql (the supergraph, for the gateway's users) and
// GET /.well-known/jwks.json (the public half of its signing key, so hubs can set METAMERS_CONSORTIUM_JWKS to this URL
// and follow a key rotation by kid).
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import type { GatewayContext } from "./gateway.js";

/** Largest request body read (a GraphQL query with variables; the gateway forwards no files). */
const MAX_BODY_BYTES = 1024 * 1024;

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers }).end(JSON.stringify(body));
};

const graphqlError = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface GatewayHttp {
  server: http.Server;
  /** Base URL once listening, e.g. http://127.0.0.1:4100. */
  listen(port: number, host: string): Promise<string>;
}

export function createGatewayHttp(
  apollo: ApolloServer<GatewayContext>,
  contextFor: (authorization: string | undefined) => Promise<GatewayContext>,
  jwks: () => Promise<object>,
): GatewayHttp {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) json(res, 500, graphqlError(`gateway: ${e instanceof Error ? e.message : String(e)}`, "INTERNAL"));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (req.method === "GET" && url.pathname === "/.well-known/jwks.json") return json(res, 200, await jwks(), { "cache-control": "max-age=300" });
    if (!/^\/graphql\/?$/.test(url.pathname) || (req.method !== "POST" && req.method !== "GET")) {
      return json(res, 404, graphqlError(`not found: ${req.method} ${url.pathname} (the gateway serves /graphql and /.well-known/jwks.json)`, "NOT_FOUND"));
    }
    const raw = req.method === "POST" ? await readBody(req) : Buffer.alloc(0);
    if (raw === null) return json(res, 413, graphqlError(`request body: expected at most ${MAX_BODY_BYTES} bytes, got more`, "PAYLOAD_TOO_LARGE"), { connection: "close" });
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return json(res, 400, graphqlError("request body: expected JSON ({ query, variables }), got unparsable text", "BAD_USER_INPUT"));
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: url.search, body },
      context: () => contextFor(req.headers.authorization),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of result.headers) out[k] = v;
    res.writeHead(result.status ?? 200, out);
    if (result.body.kind === "complete") {
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          resolve(`http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
  };
}
