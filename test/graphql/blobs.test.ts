// Uploads streamed into the blob store and downloads streamed out of it, over real HTTP, with 64 KiB chunks (and S3
// parts) so that test-sized files span several: PUT /uploads/<id> into either store (checked size and sha256, nothing
// stored when refused), registration from a chunked upload, and GET/HEAD /blobs/<sha256> from the Postgres store with
// Content-Length and byte ranges (an S3 store redirects to the bucket instead: test/http/routes.test.ts).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { countRows } from "../helpers/db.js";
import { seededBytes, sha } from "../helpers/seeded-bytes.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { AUTODIFF_FIXTURES } from "../helpers/constants.js";

const CHUNK = 64 * 1024;
const fixtures = AUTODIFF_FIXTURES;


/** A request body sent with chunked transfer encoding (no Content-Length), so the server only learns its size at the end. */
function streamed(bytes: Buffer, piece = 10_000): { body: ReadableStream<Uint8Array>; duplex: "half" } {
  let pos = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pos >= bytes.length) return controller.close();
      controller.enqueue(new Uint8Array(bytes.subarray(pos, pos + piece)));
      pos += piece;
    },
  });
  return { body, duplex: "half" };
}

let t: TestApp;
let key: string;
let groupId: string;
beforeAll(async () => {
  t = await startTestApp({ config: { blobChunkBytes: CHUNK } });
  ({ key, groupId } = await t.createGroupWithKey("blob-lab", "MEMBER"));
});
afterAll(async () => {
  await t?.close();
});

async function ticket(app: TestApp, appKey: string, bytes: { length: number }, sha256: string, purpose = "MODEL"): Promise<{ id: string; url: string }> {
  const r = await app.gql(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }`, { i: { purpose, byteSize: bytes.length, sha256 } }, appKey);
  expect(r.errors).toBeUndefined();
  // PUT /uploads/<id> through the API, whichever store is behind it (with S3 the ticket's own URL is the bucket's).
  return { id: r.data.createUpload.id, url: `${app.url}/uploads/${r.data.createUpload.id}` };
}

const auth = (k = key) => ({ authorization: `Bearer ${k}` });
const errorOf = async (res: Response) => ((await res.json()) as any).errors[0] as { message: string; extensions: { code: string } };

// The same PUT /uploads tests with the bytes streamed into each store: chunk rows in PostgreSQL, a multipart upload
// (64 KiB parts) into S3 on a real S3-compatible server.
describe.each(["postgres", "s3"] as const)("PUT /uploads/<id> streams into the %s blob store", (storeName) => {
  const file = seededBytes(5 * CHUNK + 777, 21);
  let app: TestApp;
  let s3: TestS3 | undefined;
  let uploadGroup: string;
  let k: string;
  beforeAll(async () => {
    if (storeName === "s3") s3 = await startTestS3({ partBytes: CHUNK });
    app = storeName === "postgres" ? t : await startTestApp({ config: { blobChunkBytes: CHUNK, s3: s3!.settings } });
    ({ key: k, groupId: uploadGroup } = storeName === "postgres" ? { key, groupId } : await app.createGroupWithKey("blob-lab", "MEMBER"));
  });
  afterAll(async () => {
    if (storeName === "s3") {
      await app?.close();
      await s3?.close();
    }
  });
  const uploadStatus = async (id: string) => (await app.store.uploads.find(uploadGroup, id))?.status;
  /** Rows and (S3) bucket keys: what a refused upload must leave unchanged. */
  const footprint = async () => [await countRows(app.store), s3 ? await s3.keys() : null];

  it("a body sent without Content-Length is stored whole and downloads identical", async () => {
    const { id, url } = await ticket(app, k, file, sha(file));
    const put = await fetch(url, { method: "PUT", headers: auth(k), ...streamed(file) });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ id, sha256: sha(file), byteSize: file.length });
    expect(await uploadStatus(id)).toBe("COMPLETE");
    if (s3) expect(await s3.keys()).toEqual([`blobs/${sha(file)}`]);
    const dl = await fetch(`${app.url}/blobs/${sha(file)}`, { headers: auth(k) });
    expect(dl.status).toBe(200);
    if (!s3) {
      expect(dl.headers.get("content-length")).toBe(String(file.length));
      expect(dl.headers.get("accept-ranges")).toBe("bytes");
    }
    expect(Buffer.from(await dl.arrayBuffer()).equals(file)).toBe(true);
  });

  it("a wrong sha256 is refused after the last byte; nothing stored, the upload can be retried", async () => {
    const other = seededBytes(3 * CHUNK + 5, 22);
    const { id, url } = await ticket(app, k, other, sha(other));
    const before = await footprint();
    const wrong = Buffer.from(other);
    wrong[2 * CHUNK + 1] ^= 0xff; // one flipped byte in the third chunk
    const put = await fetch(url, { method: "PUT", headers: auth(k), ...streamed(wrong) });
    expect(put.status).toBe(400);
    const err = await errorOf(put);
    expect(err.extensions.code).toBe("BAD_USER_INPUT");
    expect(err.message).toContain(`declared sha256 ${sha(other)}, the bytes hash to ${sha(wrong)}; nothing was stored`);
    expect(await footprint()).toEqual(before);
    expect(await uploadStatus(id)).toBe("PENDING");
    const retry = await fetch(url, { method: "PUT", headers: auth(k), ...streamed(other) });
    expect(retry.status).toBe(200);
  });

  it("a short body (the client stops early) is refused with both counts; nothing stored", async () => {
    const other = seededBytes(2 * CHUNK + 50, 23);
    const { id, url } = await ticket(app, k, other, sha(other));
    const before = await footprint();
    const put = await fetch(url, { method: "PUT", headers: auth(k), ...streamed(other.subarray(0, CHUNK + 10)) });
    expect(put.status).toBe(400);
    expect((await errorOf(put)).message).toMatch(new RegExp(`declared ${other.length} bytes, received ${CHUNK + 10}; nothing was stored`));
    expect(await footprint()).toEqual(before);
    expect(await uploadStatus(id)).toBe("PENDING");
  });

  it("more bytes than declared are refused with 413 while they arrive; nothing stored", async () => {
    const other = seededBytes(2 * CHUNK, 24);
    const { url } = await ticket(app, k, other, sha(other));
    const before = await footprint();
    const put = await fetch(url, { method: "PUT", headers: auth(k), ...streamed(seededBytes(6 * CHUNK, 25)) });
    expect(put.status).toBe(413);
    expect(await errorOf(put)).toMatchObject({ extensions: { code: "PAYLOAD_TOO_LARGE" } });
    expect(await footprint()).toEqual(before);
  });

  it("a Content-Length that differs from the declared size is refused before the body is read", async () => {
    const other = seededBytes(CHUNK, 26);
    const { url } = await ticket(app, k, other, sha(other));
    const before = await footprint();
    const short = await fetch(url, { method: "PUT", headers: auth(k), body: other.subarray(0, 100) });
    expect(short.status).toBe(400);
    expect((await errorOf(short)).message).toContain(`declared ${CHUNK} bytes, Content-Length is 100`);
    const long = await fetch(url, { method: "PUT", headers: auth(k), body: Buffer.concat([other, other]) });
    expect(long.status).toBe(413);
    expect((await errorOf(long)).message).toContain(`declared ${CHUNK} bytes, Content-Length is ${2 * CHUNK}`);
    expect(await footprint()).toEqual(before);
  });

  it("concurrent uploads of the same bytes all complete and store one blob", async () => {
    const same = seededBytes(4 * CHUNK + 3, 27);
    const tickets = await Promise.all([0, 1, 2, 3].map(() => ticket(app, k, same, sha(same))));
    const before = await countRows(app.store);
    const puts = await Promise.all(tickets.map((tk) => fetch(tk.url, { method: "PUT", headers: auth(k), ...streamed(same, 30_000) })));
    expect(puts.map((p) => p.status)).toEqual([200, 200, 200, 200]);
    const after = await countRows(app.store);
    expect(after.Blob).toBe(before.Blob + 1);
    if (!s3) expect(after.BlobChunk).toBe(before.BlobChunk + 5);
    else expect((await s3.keys()).filter((k) => k.endsWith(sha(same)))).toEqual([`blobs/${sha(same)}`]);
    for (const tk of tickets) expect(await uploadStatus(tk.id)).toBe("COMPLETE");
  });

  it("a model uploaded in chunks registers, and its download is the same file", async () => {
    const onnx = await readFile(path.join(fixtures, "lenet.onnx"));
    expect(onnx.length).toBeGreaterThan(2 * CHUNK);
    const { id, url } = await ticket(app, k, onnx, sha(onnx));
    expect((await fetch(url, { method: "PUT", headers: auth(k), ...streamed(onnx, 50_000) })).status).toBe(200);
    const r = await app.gql(
      `mutation($i: RegisterModelInput!) { registerModel(input: $i) { sha256 layers { name } } }`,
      { i: { name: "lenet-chunked", modality: "IMAGE", uploadId: id } },
      k,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.registerModel.sha256).toBe(sha(onnx));
    expect(r.data.registerModel.layers.length).toBeGreaterThan(5);
    const dl = await fetch(`${app.url}/blobs/${sha(onnx)}`, { headers: auth(k) });
    expect(Buffer.from(await dl.arrayBuffer()).equals(onnx)).toBe(true);
  });
});

describe("GET /blobs/<sha256> with Range", () => {
  const file = seededBytes(3 * CHUNK + 100, 31);
  const size = file.length;
  const get = (range?: string, extra: Record<string, string> = {}) =>
    fetch(`${t.url}/blobs/${sha(file)}`, { headers: { ...auth(), ...(range ? { range } : {}), ...extra } });

  beforeAll(async () => {
    const { url } = await ticket(t, key, file, sha(file));
    expect((await fetch(url, { method: "PUT", headers: auth(), body: file })).status).toBe(200);
  });

  it("206 with Content-Range and Content-Length for first, last, cross-edge, open-ended, suffix and clamped ranges", async () => {
    const cases: [string, number, number][] = [
      ["bytes=0-0", 0, 0],
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
      [`bytes=${CHUNK - 4}-${CHUNK + 3}`, CHUNK - 4, CHUNK + 3],
      [`bytes=${CHUNK - 1}-${2 * CHUNK}`, CHUNK - 1, 2 * CHUNK],
      [`bytes=${2 * CHUNK + 10}-`, 2 * CHUNK + 10, size - 1],
      ["bytes=-150", size - 150, size - 1],
      [`bytes=${size - 5}-${size + 1000}`, size - 5, size - 1],
      [`bytes=-${size + 10}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(range);
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get("content-length"), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(file.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it("416 with Content-Range bytes */size for a range past the end or a malformed one", async () => {
    for (const [range, message] of [
      [`bytes=${size}-`, `the first byte must be below the body's ${size} bytes`],
      [`bytes=${size + 5}-${size + 9}`, "the first byte must be below"],
      ["bytes=10-5", "expected first <= last"],
      ["bytes=-0", "expected bytes=-n with 0 < n"],
      ["bytes=abc", "expected bytes=first-last, bytes=first- or bytes=-suffixLength"],
    ]) {
      const res = await get(range);
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range"), range).toBe(`bytes */${size}`);
      const err = await errorOf(res);
      expect(err.extensions.code).toBe("RANGE_NOT_SATISFIABLE");
      expect(err.message).toContain(message);
      expect(err.message).toContain(JSON.stringify(range));
    }
  });

  it("the whole file (200) for several ranges, another unit, or an If-Range that does not match", async () => {
    for (const [range, extra] of [
      ["bytes=0-1,5-6", {}],
      ["items=0-1", {}],
      ["bytes=0-1", { "if-range": '"not-this-file"' }],
    ] as const) {
      const res = await get(range, extra);
      expect(res.status, range).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(file), range).toBe(true);
    }
    const matching = await get("bytes=0-1", { "if-range": `"${sha(file)}"` });
    expect(matching.status).toBe(206);
  });

  it("clients that go away mid-download leave the server serving (no connection held, no crash)", async () => {
    for (let i = 0; i < 8; i++) {
      const abort = new AbortController();
      const res = await fetch(`${t.url}/blobs/${sha(file)}`, { headers: auth(), signal: abort.signal });
      const reader = res.body!.getReader();
      await reader.read(); // some bytes of the first chunk, then gone
      abort.abort();
      await reader.read().catch(() => {});
    }
    const res = await get();
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(file)).toBe(true);
  });

  it("HEAD answers the headers without a body", async () => {
    const res = await fetch(`${t.url}/blobs/${sha(file)}`, { method: "HEAD", headers: { ...auth(), range: "bytes=5-9" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-length")).toBe("5");
    expect(res.headers.get("content-range")).toBe(`bytes 5-9/${size}`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });
});
