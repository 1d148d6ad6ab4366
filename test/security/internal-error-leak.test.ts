// Attack: learning the server's internals (table names, file paths, library messages) from error messages.
// Unexpected failures in a resolver, an HTTP route and a job handler must reach the client only as INTERNAL with a
// reference id; the details must be in the server log under the same id.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobHandlerRegistry, JobQueue } from "../../src/services/jobs/queue.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

/** Every JSON line the app logs, parsed (the real pino logger, writing into this array instead of stdout). */
const logLines: Record<string, any>[] = [];
const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });

let t: TestApp;
let key: string;
let groupId: string;
beforeAll(async () => {
  t = await startTestApp({ log });
  ({ key, groupId } = await t.createGroupWithKey("leak-lab", "MEMBER"));
});
afterAll(async () => t?.close());

/** Runs SQL on the test database: renaming a table makes the store fail as a broken database really would. */
async function sql(text: string): Promise<void> {
  const client = new pg.Client(t.database);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The log entry carrying `errorId`; it must hold the original error's message. */
function loggedUnder(errorId: string): Record<string, any> {
  const entries = logLines.filter((l) => l.errorId === errorId && l.err);
  expect(entries).toHaveLength(1);
  return entries[0];
}

const REFERENCE = /^internal error \(reference ([0-9a-f-]{36})\); the details are in the server log$/;

describe("unexpected errors stay internal", () => {
  it("in a GraphQL resolver: INTERNAL + errorId to the client, the database's message only in the log", async () => {
    await sql(`ALTER TABLE "Study" RENAME TO "Study_hidden"`);
    let res;
    try {
      res = await t.gql(`{ studies { id key } }`, {}, key);
    } finally {
      await sql(`ALTER TABLE "Study_hidden" RENAME TO "Study"`);
    }
    expect(res.errors).toHaveLength(1);
    const [e] = res.errors!;
    expect(e.extensions).toEqual({ code: "INTERNAL", errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(e.message).toMatch(REFERENCE);
    expect(REFERENCE.exec(e.message)![1]).toBe(e.extensions!.errorId);
    expect(JSON.stringify(res)).not.toMatch(/Study|prisma|does not exist/i);

    const entry = loggedUnder(e.extensions!.errorId as string);
    expect(entry.level).toBe(50); // error
    expect(entry.err.message).toMatch(/Study/);
    expect(entry.err.stack).toBeTruthy();
  });

  it("in an HTTP route: the same JSON error shape with status 500, details only in the log", async () => {
    const sha256 = "ab".repeat(32); // well formed: the route reaches the (broken) grant lookup
    await sql(`ALTER TABLE "BlobGrant" RENAME TO "BlobGrant_hidden"`);
    let res: Response;
    let body: any;
    try {
      res = await fetch(`${t.url}/blobs/${sha256}`, { headers: { authorization: `Bearer ${key}` } });
      body = await res.json();
    } finally {
      await sql(`ALTER TABLE "BlobGrant_hidden" RENAME TO "BlobGrant"`);
    }
    expect(res.status).toBe(500);
    expect(body.errors).toHaveLength(1);
    const [e] = body.errors;
    expect(e.extensions).toEqual({ code: "INTERNAL", errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(REFERENCE.exec(e.message)?.[1]).toBe(e.extensions.errorId);
    expect(JSON.stringify(body)).not.toMatch(/BlobGrant|prisma|does not exist/i);
    expect(loggedUnder(e.extensions.errorId).err.message).toMatch(/BlobGrant/);
  });

  it("in a job handler: SynthesisJob.error is INTERNAL + reference; the handler's message only in the log", async () => {
    const batch = await t.store.jobs.createBatch({ groupId, modelId: randomUUID(), config: {}, seed: 0, idempotencyKey: null });
    const [job] = await t.store.jobs.enqueue([{ kind: "SYNTHESIS", groupId, batchId: batch.id, stage: "relu1", maxAttempts: 1 }]);
    const registry = new JobHandlerRegistry().register("SYNTHESIS", {
      run: async () => {
        throw new Error("disk on fire at /var/lib/metamers/secret");
      },
    });
    expect((await new JobQueue(t.store, registry, log).runOne({ jobId: job.id }))!.result).toBe("failed");

    const res = await t.gql(`query($id: ID!) { synthesisJob(id: $id) { status error { code message } } }`, { id: job.id }, key);
    expect(res.errors).toBeUndefined();
    const { status, error } = res.data.synthesisJob;
    expect(status).toBe("FAILED");
    expect(error.code).toBe("INTERNAL");
    expect(error.message).toMatch(REFERENCE);
    expect(error.message).not.toMatch(/disk|secret/);

    const entry = loggedUnder(REFERENCE.exec(error.message)![1]);
    expect(entry).toMatchObject({ jobId: job.id, kind: "SYNTHESIS", err: { message: "disk on fire at /var/lib/metamers/secret" } });
  });
});
