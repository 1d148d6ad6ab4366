// The Lambda entry modules as Lambda loads them: imported with their environment set (a real database, the S3 blob
// store on a real S3-compatible server), they serve; imported without it, they fail at once with a message that names
// what is missing. Each import is a fresh module (vi.resetModules), as each cold start is.
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AuthService } from "../../src/services/auth.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";

let db: TestDatabase;
let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  await s3?.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

/** What infra/ sets on the functions (here with DATABASE_URL where the cloud reads Secrets Manager). */
function cloudEnvironment(): Record<string, string | undefined> {
  const c = db.config;
  return {
    DATABASE_URL: `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${c.database}`,
    METAMERS_DATABASE_SECRET: undefined,
    METAMERS_BLOB_STORE: "s3",
    METAMERS_S3_BUCKET: s3.settings.bucket,
    METAMERS_S3_ENDPOINT: s3.endpoint,
    METAMERS_S3_FORCE_PATH_STYLE: "true",
    // the AWS SDK's default credential chain, as the Lambda role's keys arrive
    AWS_ACCESS_KEY_ID: s3.settings.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.settings.credentials.secretAccessKey,
    METAMERS_DISPATCHER: "lambda",
    METAMERS_LAMBDA_FUNCTION: "metamers-synthesize",
    LOG_LEVEL: "silent",
  };
}

function setEnvironment(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

function event(method: string, rawPath: string, body?: unknown, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers: { "content-type": "application/json", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.org",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: "29/Nov/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const lambdaContext = { awsRequestId: "entry-test", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

describe("functions/graphql.ts (the API function)", () => {
  it("with its environment it serves every route: GraphQL with the same keys, uploads presigned to the bucket", async () => {
    setEnvironment(cloudEnvironment());
    const { handler } = (await import("../../functions/graphql.js")) as {
      handler: (e: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
    };
    const health = await handler(event("POST", "/graphql", { query: "{ health { ok database } }" }));
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body!).data.health).toEqual({ ok: true, database: true });

    const { key } = await new AuthService(db.store).createGroupWithKey("entry-lab", "MEMBER");
    const auth = { authorization: `Bearer ${key}` };
    const me = await handler(event("POST", "/graphql", { query: "{ me { groupName role } }" }, auth));
    expect(JSON.parse(me.body!).data.me).toEqual({ groupName: "entry-lab", role: "MEMBER" });
    const upload = await handler(
      event("POST", "/graphql", {
        query: `mutation { createUpload(input: { purpose: STIMULUS, byteSize: 10, sha256: "${"a".repeat(64)}" }) { id url } }`,
      }, auth),
    );
    const ticket = JSON.parse(upload.body!).data.createUpload;
    expect(new URL(ticket.url).origin).toBe(s3.endpoint);
    // a route beyond /graphql: the upload's completion (nothing was PUT yet)
    const complete = await handler(event("POST", `/uploads/${ticket.id}/complete`, undefined, auth));
    expect(complete.statusCode).toBe(400);
    expect(JSON.parse(complete.body!).errors[0].message).toContain("has no bytes yet");
  });

  it("without a database it fails at import, naming both ways to give one", async () => {
    setEnvironment({ ...cloudEnvironment(), DATABASE_URL: undefined });
    await expect(import("../../functions/graphql.js")).rejects.toThrow("METAMERS_DATABASE_SECRET or DATABASE_URL: the Lambda handler needs a database");
  });

  it("with the S3 store but no bucket it fails at import, naming the variable", async () => {
    setEnvironment({ ...cloudEnvironment(), METAMERS_S3_BUCKET: undefined });
    await expect(import("../../functions/graphql.js")).rejects.toThrow("METAMERS_S3_BUCKET: expected a bucket name when METAMERS_BLOB_STORE=s3, got none");
  });
});

describe("functions/synthesize/handler.ts (the synthesis function)", () => {
  it("with its environment it takes invocations: an unknown job is skipped, a malformed payload refused", async () => {
    setEnvironment(cloudEnvironment());
    const { handler } = await import("../../functions/synthesize/handler.js");
    const jobId = randomUUID();
    expect(await handler({ jobId }, lambdaContext)).toEqual({ jobId, result: "skipped" });
    await expect(handler({} as never, lambdaContext)).rejects.toThrow("synthesis function: expected a payload { jobId: string }, got {}");
  });

  it("without a database or without its own name it fails at import, saying which", async () => {
    setEnvironment({ ...cloudEnvironment(), DATABASE_URL: undefined });
    await expect(import("../../functions/synthesize/handler.js")).rejects.toThrow("synthesis function: DATABASE_URL must be set");
    vi.resetModules();
    setEnvironment({ ...cloudEnvironment(), METAMERS_LAMBDA_FUNCTION: undefined });
    await expect(import("../../functions/synthesize/handler.js")).rejects.toThrow(
      "synthesis function: METAMERS_LAMBDA_FUNCTION must name this function (for continuations)",
    );
  });
});
