// ONE HTTP suite for both hosts of the API's routes (the Node server, and the Lambda handler invoked with API Gateway
// v2 events) and both blob stores (PostgreSQL, and S3 on a real S3-compatible server on loopback): /graphql, /export,
// uploads (PUT to the API, or presigned straight to the bucket, then completed), /blobs (streamed, or 302 to a
// presigned GET after the same authorization check), and the Lambda's response limit.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MetamersClient } from "../../src/cli/client.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";
import { countRows } from "../helpers/db.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { seededBytes, sha } from "../helpers/seeded-bytes.js";
import { lambdaHost, nodeHost, type Host, type HttpReply } from "./hosts.js";

const CHUNK = 64 * 1024;

/** A test that exists only for some hosts / stores (registered or not, rather than reported as skipped). */
const only = (applies: boolean) => (applies ? it : ((() => undefined) as unknown as typeof it));

const combos = [
  ["node", "postgres"],
  ["node", "s3"],
  ["lambda", "postgres"],
  ["lambda", "s3"],
] as const;

describe.each(combos)("HTTP routes on the %s host, %s blob store", (hostName, storeName) => {
  let t: TestApp;
  let s3: TestS3 | undefined;
  let host: Host;
  let key: string;
  let otherKey: string;
  beforeAll(async () => {
    if (storeName === "s3") s3 = await startTestS3({ partBytes: CHUNK });
    t = await startTestApp({ config: { blobChunkBytes: CHUNK, s3: s3?.settings } });
    host = hostName === "node" ? nodeHost(t) : lambdaHost(t);
    ({ key } = await t.createGroupWithKey("http-lab", "MEMBER"));
    ({ key: otherKey } = await t.createGroupWithKey("other-lab", "MEMBER"));
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const auth = (k = key) => ({ authorization: `Bearer ${k}` });
  const json = (r: HttpReply) => JSON.parse(r.body.toString("utf8"));
  const errorOf = (r: HttpReply) => json(r).errors[0] as { message: string; extensions: { code: string } };
  const gql = async (query: string, variables?: Record<string, unknown>, k?: string) => {
    const r = await host.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...(k ? auth(k) : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: r.status, ...json(r) };
  };
  const ticket = async (bytes: Buffer, purpose = "STIMULUS") => {
    const r = await gql(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url headers { name value } } }`,
      { i: { purpose, byteSize: bytes.length, sha256: sha(bytes) } },
      key,
    );
    expect(r.errors).toBeUndefined();
    return r.data.createUpload as { id: string; url: string; headers: { name: string; value: string }[] };
  };
  /** PUTs the bytes where the ticket says, with its headers (the API key only where the ticket asks for it). */
  const put = (tk: Awaited<ReturnType<typeof ticket>>, bytes: Buffer) => {
    const headers: Record<string, string> = {};
    for (const h of tk.headers) headers[h.name.toLowerCase()] = h.value === "Bearer <your API key>" ? `Bearer ${key}` : h.value;
    delete headers["content-length"]; // set from the body by the client
    return host.request(tk.url, { method: "PUT", headers, body: bytes });
  };
  /** An upload's bytes made a blob of the group: PUT, then (presigned uploads) the completion call. */
  const upload = async (bytes: Buffer) => {
    const tk = await ticket(bytes);
    expect((await put(tk, bytes)).status).toBe(200);
    if (storeName === "s3") {
      const done = await host.request(`/uploads/${tk.id}/complete`, { method: "POST", headers: auth() });
      expect(done.status).toBe(200);
      expect(json(done)).toEqual({ id: tk.id, sha256: sha(bytes), byteSize: bytes.length });
    }
    return tk;
  };

  it("/graphql: health without a key, the caller with one, UNAUTHENTICATED without; unparsable JSON 400; unknown route 404", async () => {
    const health = await gql("{ health { ok database } }");
    expect(health.status).toBe(200);
    expect(health.data.health).toEqual({ ok: true, database: true });
    expect((await gql("{ me { groupName role } }", undefined, key)).data.me).toEqual({ groupName: "http-lab", role: "MEMBER" });
    expect((await gql("{ me { role } }")).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const bad = await host.request("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(errorOf(bad)).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
    const none = await host.request("/nowhere");
    expect(none.status).toBe(404);
    expect(errorOf(none)).toEqual({ message: "no route for GET /nowhere", extensions: { code: "NOT_FOUND" } });
  });

  it("/export: the list of tables, and a table as CSV for a caller with a key (401 without)", async () => {
    const list = await host.request("/export");
    expect(list.status).toBe(200);
    expect(json(list).tables.map((x: { path: string }) => x.path)).toContain("/export/human-scores.csv");
    const anonymous = await host.request("/export/human-scores.csv?modelIds=00000000-0000-4000-8000-000000000000");
    expect(anonymous.status).toBe(401);
    const csv = await host.request("/export/human-scores.csv?modelIds=00000000-0000-4000-8000-000000000000", { headers: auth() });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toBe('attachment; filename="human-scores.csv"');
    expect(csv.body.toString("utf8").split("\n")[0]).toBe("model_id,model,experiment,participant,stage,observer,proportion_correct");
  });

  it("an upload: the ticket takes the bytes (the API, or presigned straight to the bucket), completes, and the file downloads", async () => {
    const file = seededBytes(3 * CHUNK + 77, 41);
    const tk = await ticket(file);
    if (storeName === "s3") {
      // Presigned: the bytes go to the bucket, never through the API, and the API key is not sent there.
      expect(new URL(tk.url).origin).toBe(s3!.endpoint);
      expect(tk.url).toContain(`/uploads/${tk.id}?`);
      expect(tk.headers.map((h) => h.name)).toEqual(["Content-Length", "x-amz-checksum-sha256"]);
      expect(tk.headers[1].value).toBe(Buffer.from(sha(file), "hex").toString("base64"));
    } else {
      expect(tk.url).toBe(`${t.url}/uploads/${tk.id}`);
    }
    expect((await put(tk, file)).status).toBe(200);
    const before = await t.store.uploads.find(await groupOf(key), tk.id);
    expect(before?.status).toBe(storeName === "s3" ? "PENDING" : "COMPLETE");
    if (storeName === "s3") {
      const done = await host.request(`/uploads/${tk.id}/complete`, { method: "POST", headers: auth() });
      expect(done.status).toBe(200);
      expect(json(done)).toEqual({ id: tk.id, sha256: sha(file), byteSize: file.length });
      // a second completion answers the same; the staged object became the blob
      expect(json(await host.request(`/uploads/${tk.id}/complete`, { method: "POST", headers: auth() }))).toEqual(json(done));
      expect(await s3!.keys()).toContain(`blobs/${sha(file)}`);
      expect(await s3!.keys("uploads/")).toEqual([]);
    }
    const dl = await download(sha(file));
    expect(dl.status).toBe(200);
    expect(dl.body.equals(file)).toBe(true);
  });

  async function groupOf(k: string): Promise<string> {
    const caller = await t.services.auth.authenticate(`Bearer ${k}`);
    return (caller as { groupId: string }).groupId;
  }

  /** GET /blobs/<sha>, following a redirect the way a client does (to another host: without the Authorization header). */
  async function download(sha256: string, headers: Record<string, string> = {}): Promise<HttpReply> {
    const first = await host.request(`/blobs/${sha256}`, { headers: { ...auth(), ...headers } });
    if (first.status !== 302) return first;
    return host.request(first.headers.get("location")!, { headers });
  }

  it("/blobs: the same authorization before any bytes or redirect; S3 redirects to a short-lived presigned GET that serves ranges", async () => {
    const file = seededBytes(2 * CHUNK + 500, 42);
    await upload(file);
    const first = await host.request(`/blobs/${sha(file)}`, { headers: auth() });
    if (storeName === "s3") {
      expect(first.status).toBe(302);
      expect(first.headers.get("cache-control")).toBe("no-store");
      const location = new URL(first.headers.get("location")!);
      expect(location.origin).toBe(s3!.endpoint);
      expect(location.pathname).toBe(`/${s3!.settings.bucket}/blobs/${sha(file)}`);
      expect(location.searchParams.get("X-Amz-Expires")).toBe(String(s3!.settings.presignSeconds));
    } else {
      expect(first.status).toBe(200);
      expect(first.headers.get("content-length")).toBe(String(file.length));
    }
    const ranged = await download(sha(file), { range: `bytes=${CHUNK - 5}-${CHUNK + 4}` });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes ${CHUNK - 5}-${CHUNK + 4}/${file.length}`);
    expect(ranged.body.equals(file.subarray(CHUNK - 5, CHUNK + 5))).toBe(true);
    // HEAD: the headers from the blob's row, no bytes and no redirect on either store
    const head = await host.request(`/blobs/${sha(file)}`, { method: "HEAD", headers: auth() });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(file.length));
    expect(head.headers.get("etag")).toBe(`"${sha(file)}"`);
    // another group's blob does not exist for it; without a key nothing is said: no redirect either way
    const other = await host.request(`/blobs/${sha(file)}`, { headers: auth(otherKey) });
    expect(other.status).toBe(404);
    expect(errorOf(other).extensions.code).toBe("NOT_FOUND");
    expect(other.headers.get("location")).toBeNull();
    const anonymous = await host.request(`/blobs/${sha(file)}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("location")).toBeNull();
  });

  it("a model registers from an upload (in cloud mode passing uploadId completes it: no separate call)", async () => {
    const onnx = await readFile(path.join(AUTODIFF_FIXTURES, "lenet.onnx"));
    const tk = await ticket(onnx, "MODEL");
    expect((await put(tk, onnx)).status).toBe(200);
    const r = await gql(
      `mutation($i: RegisterModelInput!) { registerModel(input: $i) { sha256 layers { name } } }`,
      { i: { name: "lenet-http", modality: "IMAGE", uploadId: tk.id } },
      key,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.registerModel.sha256).toBe(sha(onnx));
    const dl = await download(sha(onnx));
    expect(dl.body.equals(onnx)).toBe(true);
  });

  only(hostName === "node")("the CLI's client PUTs with exactly the ticket's headers: the API key to the API, never to the bucket", async () => {
    const client = new MetamersClient(t.url, key);
    const sent: { url: string; headers: Headers }[] = [];
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      if (init?.method === "PUT") sent.push({ url: String(input), headers: new Headers(init.headers) });
      return realFetch(input, init);
    });
    let uploadId: string;
    try {
      // inline limit 0: even this small file goes through createUpload
      ({ uploadId } = (await client.fileInput(path.join(AUTODIFF_FIXTURES, "lenet.onnx"), "STIMULUS", 0)) as { uploadId: string });
    } finally {
      spy.mockRestore();
    }
    expect(sent).toHaveLength(1);
    if (storeName === "s3") {
      expect(new URL(sent[0].url).origin).toBe(s3!.endpoint);
      expect(sent[0].headers.get("authorization")).toBeNull();
      expect(sent[0].headers.get("x-amz-checksum-sha256")).toBe(Buffer.from(sha(await readFile(path.join(AUTODIFF_FIXTURES, "lenet.onnx"))), "hex").toString("base64"));
      expect((await host.request(`/uploads/${uploadId}/complete`, { method: "POST", headers: auth() })).status).toBe(200);
    } else {
      expect(sent[0].headers.get("authorization")).toBe(`Bearer ${key}`);
    }
    expect((await t.store.uploads.find(await groupOf(key), uploadId))?.status).toBe("COMPLETE");
  });

  only(storeName === "s3")("presigned uploads are checked at completion: wrong bytes or size store nothing, the upload can be PUT again", async () => {
    const file = seededBytes(CHUNK + 3, 43);
    const tk = await ticket(file);
    const before = [await countRows(t.store), await s3!.keys("blobs/")];
    const complete = () => host.request(`/uploads/${tk.id}/complete`, { method: "POST", headers: auth() });
    // nothing PUT yet
    const early = await complete();
    expect(early.status).toBe(400);
    expect(errorOf(early).message).toContain(`upload ${tk.id} has no bytes yet`);
    // one flipped byte (this S3-compatible server does not check the signed checksum; the completion does)
    const wrong = Buffer.from(file);
    wrong[CHUNK] ^= 0xff;
    expect((await put(tk, wrong)).status).toBe(200);
    const refused = await complete();
    expect(refused.status).toBe(400);
    expect(errorOf(refused).message).toBe(`upload ${tk.id}: declared sha256 ${sha(file)}, the bytes hash to ${sha(wrong)}; nothing was stored`);
    expect(await s3!.keys("uploads/")).toEqual([]);
    // too few bytes
    expect((await put(tk, file.subarray(0, 100))).status).toBe(200);
    const short = await complete();
    expect(short.status).toBe(400);
    expect(errorOf(short).message).toBe(`upload ${tk.id}: declared ${file.length} bytes, the bucket holds 100; nothing was stored`);
    expect([await countRows(t.store), await s3!.keys("blobs/")]).toEqual(before);
    // the right bytes complete it
    expect((await put(tk, file)).status).toBe(200);
    expect((await complete()).status).toBe(200);
    expect((await download(sha(file))).body.equals(file)).toBe(true);
  });

  only(hostName === "lambda")("an answer over the Lambda's response limit: redirected to the bucket (S3), PAYLOAD_TOO_LARGE otherwise", async () => {
    const small = lambdaHost(t, { maxBodyBytes: 16 });
    const csv = await small.request("/export/human-scores.csv?modelIds=00000000-0000-4000-8000-000000000000", { headers: auth() });
    const file = seededBytes(100, 44);
    await upload(file);
    const blob = await small.request(`/blobs/${sha(file)}`, { headers: auth() });
    if (storeName === "s3") {
      expect(csv.status).toBe(302);
      const spilled = await small.request(csv.headers.get("location")!);
      expect(spilled.status).toBe(200);
      expect(spilled.headers.get("content-disposition")).toBe('attachment; filename="human-scores.csv"');
      expect(spilled.body.toString("utf8")).toBe("model_id,model,experiment,participant,stage,observer,proportion_correct\n");
      expect(blob.status).toBe(302); // blobs never pass through the Lambda
    } else {
      expect(csv.status).toBe(413);
      expect(errorOf(csv).message).toContain("a Lambda answers at most 16 bytes itself");
      expect(blob.status).toBe(413);
    }
  });
});
