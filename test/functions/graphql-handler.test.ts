import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphQLHandler } from "../../functions/graphql-handler.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

function event(query: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /graphql",
    rawPath: "/graphql",
    rawQueryString: "",
    headers: { "content-type": "application/json", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "example.org",
      domainPrefix: "example",
      http: { method: "POST", path: "/graphql", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "req-1",
      routeKey: "POST /graphql",
      stage: "$default",
      time: "28/Nov/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    body: JSON.stringify({ query }),
    isBase64Encoded: false,
  };
}

describe("GraphQL Lambda handler", () => {
  it("answers health and authenticates with the same keys as the HTTP server", async () => {
    const handler = createGraphQLHandler(t.app);
    const { key } = await t.createGroupWithKey("lambda-lab", "READER");
    const health = (await handler(event("{ health { ok database } }"))) as { statusCode: number; body: string };
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body).data.health).toEqual({ ok: true, database: true });

    const me = (await handler(event("{ me { groupName role } }", { authorization: `Bearer ${key}` }))) as { body: string };
    expect(JSON.parse(me.body).data.me).toEqual({ groupName: "lambda-lab", role: "READER" });

    const anonymous = (await handler(event("{ me { role } }"))) as { body: string };
    expect(JSON.parse(anonymous.body).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });
});
