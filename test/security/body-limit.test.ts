import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Issue 10 item 9: a request body over the /graphql limit is answered 413 with a JSON error, not a connection reset,
// also when the client keeps sending far more than the limit (the old drain gave up after 64 MiB and cut the socket).
describe("request bodies over the limit get 413 and a JSON error", () => {
  let t: TestApp;

  beforeAll(async () => {
    // 1 KiB inline files: the /graphql body limit is then 1 MiB + 1,366 bytes.
    t = await startTestApp({ config: { limits: { maxModelBytes: 1024, maxStimulusBytes: 1024, maxInlineBytes: 1024 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** POSTs `total` bytes in 1 MiB chunks (chunked, no content-length unless `declare`) and reads the answer. */
  function post(total: number, declare: boolean): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const url = new URL(`${t.url}/graphql`);
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", ...(declare ? { "content-length": String(total) } : {}) },
      });
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
        res.on("error", reject);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const write = () => {
        while (sent < total) {
          const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += part.length;
          if (!req.write(part)) return void req.once("drain", write);
        }
        req.end();
      };
      write();
    });
  }

  it.each([
    { what: "declared content-length, 100 MiB", total: 100 * 1024 * 1024, declare: true },
    { what: "chunked, 100 MiB", total: 100 * 1024 * 1024, declare: false },
    { what: "chunked, just over the limit", total: 1024 * 1024 + 2048, declare: false },
  ])("$what", async ({ total, declare }) => {
    const res = await post(total, declare);
    expect(res.status).toBe(413);
    const body = JSON.parse(res.body);
    expect(body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    expect(body.errors[0].message).toMatch(/^request body: at most \d+ bytes accepted here, got \d+/);
    // The server is still serving.
    expect((await t.gql(`{ health { ok } }`)).data.health.ok).toBe(true);
  }, 60_000);
});
