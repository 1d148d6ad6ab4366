// The two hosts of the API's HTTP routes, behind one interface for the shared HTTP suite: the Node server over real
// HTTP, and the Lambda handler (functions/http.ts) invoked in-process with API Gateway v2 events (docs/stack.md).
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { createHttpHandler } from "../../functions/http.js";
import type { TestApp } from "../helpers/app.js";

export interface HttpReply {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface Host {
  name: "node" | "lambda";
  /**
   * A request to the API: `url` is a path, or a URL the API handed out (an upload ticket); URLs elsewhere (a presigned
   * S3 URL) go over the network as they would from any client. Redirects are returned, not followed.
   */
  request(url: string, init?: RequestInit): Promise<HttpReply>;
}

async function viaFetch(url: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(url, { method: init.method ?? "GET", headers: init.headers, body: init.body, redirect: "manual" });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export function nodeHost(t: TestApp): Host {
  return { name: "node", request: (url, init) => viaFetch(new URL(url, t.url).href, init) };
}

/** The Lambda handler over the test app's services; `maxBodyBytes` to make its response limit testable. */
export function lambdaHost(t: TestApp, options: { maxBodyBytes?: number } = {}): Host {
  const handler = createHttpHandler(t.app, options);
  let n = 0;
  return {
    name: "lambda",
    async request(url, init = {}) {
      const target = new URL(url, t.url);
      // Handed-out URLs that point at the API (the app's base URL) are routed to the handler as API Gateway would.
      if (target.origin !== new URL(t.url).origin) return viaFetch(target.href, init);
      const method = init.method ?? "GET";
      const body = init.body === undefined ? undefined : Buffer.from(init.body);
      const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      if (body) headers["content-length"] = String(body.byteLength);
      const event: APIGatewayProxyEventV2 = {
        version: "2.0",
        routeKey: "$default",
        rawPath: target.pathname,
        rawQueryString: target.search.replace(/^\?/, ""),
        headers,
        requestContext: {
          accountId: "123456789012",
          apiId: "api",
          domainName: "api.example.org",
          domainPrefix: "api",
          http: { method, path: target.pathname, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" },
          requestId: `req-${++n}`,
          routeKey: "$default",
          stage: "$default",
          time: "29/Nov/2026:10:00:00 +0000",
          timeEpoch: 0,
        },
        // API Gateway hands binary bodies over in base64.
        body: body?.toString("base64"),
        isBase64Encoded: body !== undefined,
      };
      const out = await handler(event);
      const replyHeaders = new Headers();
      for (const [k, v] of Object.entries(out.headers ?? {})) replyHeaders.set(k, String(v));
      const replyBody = out.body === undefined ? Buffer.alloc(0) : Buffer.from(out.body, out.isBase64Encoded ? "base64" : "utf8");
      return { status: out.statusCode ?? 200, headers: replyHeaders, body: replyBody };
    },
  };
}
