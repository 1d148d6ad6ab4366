// ONE blob store suite, run against both stores behind the BlobStore port: the chunked Postgres store with 64 KiB chunks
// and the S3 store (a real S3-compatible server on loopback, s3rver) with 64 KiB multipart parts, so small files span
// several chunks / parts: streamed and buffered writes, whole and ranged reads across edges, refused writes leaving
// nothing behind, concurrent writes of one file. What only one store has (chunk rows, the abandoned-write sweep, bucket
// keys) is checked through `footprint`, what the store keeps besides the Blob rows.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobCheckError } from "../../src/services/ports.js";
import { Store } from "../../src/store/store.js";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { seededBytes, sha } from "../helpers/seeded-bytes.js";

const CHUNK = 64 * 1024;

/** The bytes in pieces of uneven sizes (a network stream never lines up with chunks); counts what was pulled. */
function pieces(bytes: Buffer, sizes = [1, 7000, 65_535, 3, 131_072, 40_000]) {
  const source = {
    pulled: 0,
    async *[Symbol.asyncIterator]() {
      for (let pos = 0, i = 0; pos < bytes.length; i++) {
        const n = sizes[i % sizes.length];
        source.pulled += Math.min(n, bytes.length - pos);
        yield bytes.subarray(pos, pos + n);
        pos += n;
      }
    },
  };
  return source;
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

interface Backend {
  name: "postgres" | "s3";
  db: TestDatabase;
  s3?: TestS3;
}

async function chunkRows(db: TestDatabase, sha256: string) {
  const client = new pg.Client(db.config);
  await client.connect();
  try {
    const r = await client.query<{ index: number; length: number }>(
      `SELECT "index", length("data") AS length FROM "BlobChunk" WHERE "sha256" = $1 ORDER BY "index"`,
      [sha256],
    );
    return r.rows;
  } finally {
    await client.end();
  }
}

/** What a store keeps besides the Blob rows: chunk rows (Postgres), object keys (S3). */
async function footprint(b: Backend): Promise<unknown> {
  if (b.name === "s3") return b.s3!.keys();
  return (await countRows(b.db.store)).BlobChunk;
}

describe.each(["postgres", "s3"] as const)("blob store: %s", (name) => {
  const b = { name } as Backend;
  let store: Store;
  beforeAll(async () => {
    if (name === "s3") b.s3 = await startTestS3({ partBytes: CHUNK });
    b.db = await createTestDatabase({ blobChunkBytes: CHUNK, s3: b.s3?.settings });
    store = b.db.store;
  });
  afterAll(async () => {
    await b.db?.drop();
    await b.s3?.close();
  });
  /** Where the bytes of a stored file are: its chunk rows (Postgres) or its one object (S3). */
  const placement = async (sha256: string) => (name === "s3" ? (await b.s3!.keys()).filter((k) => k.endsWith(sha256)) : chunkRows(b.db, sha256));
  const expectedPlacement = (sha256: string, size: number) =>
    name === "s3"
      ? [`blobs/${sha256}`]
      : Array.from({ length: Math.ceil(size / CHUNK) }, (_, index) => ({ index, length: Math.min(CHUNK, size - index * CHUNK) }));

  describe("reads and writes", () => {
    // 5 full chunks / parts and a partial sixth
    const file = seededBytes(5 * CHUNK + 1234, 1);

    it("a streamed file spanning six chunks reads back whole, as a stream and as a buffer", async () => {
      const stored = await store.blobs.putStream(pieces(file), "application/test", { byteSize: file.length, sha256: sha(file) });
      expect(stored).toEqual({ sha256: sha(file), byteSize: file.length, contentType: "application/test" });
      expect(await placement(stored.sha256)).toEqual(expectedPlacement(stored.sha256, file.length));
      expect(await store.blobs.head(stored.sha256)).toEqual(stored);
      expect(Buffer.from((await store.blobs.get(stored.sha256))!).equals(file)).toBe(true);
      const read = (await store.blobs.openRead(stored.sha256))!;
      expect(read.blob).toEqual(stored);
      expect((await readAll(read.stream)).equals(file)).toBe(true);
    });

    it("a streamed file of unknown sha256 reads back whole, with nothing left pending", async () => {
      const unknown = seededBytes(3 * CHUNK + 5, 11);
      const stored = await store.blobs.putStream(pieces(unknown), "application/test");
      expect(stored.sha256).toBe(sha(unknown));
      expect(await placement(stored.sha256)).toEqual(expectedPlacement(stored.sha256, unknown.length));
      expect(Buffer.from((await store.blobs.get(stored.sha256))!).equals(unknown)).toBe(true);
      if (name === "s3") expect((await b.s3!.keys()).filter((k) => !k.startsWith("blobs/"))).toEqual([]);
    });

    it("ranges: first and last byte, across chunk edges, inside one chunk, the partial last chunk", async () => {
      const s = sha(file);
      const ranges: [number, number][] = [
        [0, 0],
        [file.length - 1, file.length - 1],
        [CHUNK - 3, CHUNK + 2], // across the first edge
        [CHUNK - 1, 3 * CHUNK], // three edges, ending on a chunk's first byte
        [2 * CHUNK + 100, 2 * CHUNK + 5000], // inside chunk 2
        [CHUNK, 2 * CHUNK - 1], // exactly chunk 1
        [5 * CHUNK, file.length - 1], // the partial chunk
        [0, file.length - 1],
      ];
      for (const [start, end] of ranges) {
        const read = (await store.blobs.openRead(s, { start, end }))!;
        expect(read.range).toEqual({ start, end });
        const got = await readAll(read.stream);
        expect(got.equals(file.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
      await expect(store.blobs.openRead(s, { start: 0, end: file.length })).rejects.toThrow(RangeError);
      await expect(store.blobs.openRead(s, { start: 10, end: 9 })).rejects.toThrow(RangeError);
      expect(await store.blobs.openRead("0".repeat(64))).toBeNull();
      expect(await store.blobs.get("0".repeat(64))).toBeNull();
      expect(await store.blobs.head("0".repeat(64))).toBeNull();
    });

    it("a buffered put lands where a streamed one does, and putting known bytes again (buffered or streamed) stores nothing new", async () => {
      const other = seededBytes(2 * CHUNK + 1, 2);
      const before = await countRows(store);
      const stored = await store.blobs.put(other, "application/x-other");
      expect(await placement(stored.sha256)).toEqual(expectedPlacement(stored.sha256, other.length));
      expect(Buffer.from((await store.blobs.get(stored.sha256))!).equals(other)).toBe(true);
      const once = await countRows(store);
      expect(once.Blob).toBe(before.Blob + 1);
      const held = await footprint(b);
      await store.blobs.put(other, "application/x-other");
      await store.blobs.putStream(pieces(other), "application/x-other");
      await store.blobs.putStream(pieces(file), "application/test");
      expect(await countRows(store)).toEqual(once);
      expect(await footprint(b)).toEqual(held);
    });

    it("an empty file is a blob with no bytes", async () => {
      const empty = Buffer.alloc(0);
      const stored = await store.blobs.putStream(pieces(empty), "text/plain", { byteSize: 0 });
      expect(stored.sha256).toBe(sha(empty));
      expect(await store.blobs.has(stored.sha256)).toBe(true);
      if (name === "postgres") expect(await chunkRows(b.db, stored.sha256)).toEqual([]);
      expect((await store.blobs.get(stored.sha256))!.byteLength).toBe(0);
      expect((await readAll((await store.blobs.openRead(stored.sha256))!.stream)).length).toBe(0);
    });
  });

  describe("a refused or broken write stores nothing", () => {
    const file = seededBytes(3 * CHUNK + 17, 3);

    it("a wrong sha256: refused after the last byte, every written chunk removed", async () => {
      const before = [await countRows(store), await footprint(b)];
      const wrong = "ab".repeat(32);
      const err = await store.blobs.putStream(pieces(file), "x", { byteSize: file.length, sha256: wrong }).catch((e) => e);
      expect(err).toBeInstanceOf(BlobCheckError);
      expect(err).toMatchObject({ reason: "SHA256", expected: wrong, actual: sha(file) });
      expect([await countRows(store), await footprint(b)]).toEqual(before);
      expect(await store.blobs.has(sha(file))).toBe(false);
    });

    it("a short body: TOO_SHORT with the counts, nothing stored", async () => {
      const before = [await countRows(store), await footprint(b)];
      const err = await store.blobs.putStream(pieces(file.subarray(0, 2 * CHUNK + 5)), "x", { byteSize: file.length }).catch((e) => e);
      expect(err).toMatchObject({ reason: "TOO_SHORT", expected: file.length, actual: 2 * CHUNK + 5 });
      expect([await countRows(store), await footprint(b)]).toEqual(before);
    });

    it("a body longer than declared: refused as soon as the excess arrives, without reading the rest", async () => {
      const before = [await countRows(store), await footprint(b)];
      const long = seededBytes(20 * CHUNK, 4);
      const source = pieces(long, [CHUNK]);
      const err = await store.blobs.putStream(source, "x", { byteSize: 2 * CHUNK + 1 }).catch((e) => e);
      expect(err).toMatchObject({ reason: "TOO_LARGE", expected: 2 * CHUNK + 1, actual: 3 * CHUNK });
      expect(source.pulled).toBe(3 * CHUNK);
      expect([await countRows(store), await footprint(b)]).toEqual(before);
    });

    it("a source that fails mid-way (a dropped connection): its error, nothing stored", async () => {
      const before = [await countRows(store), await footprint(b)];
      async function* broken() {
        yield file.subarray(0, 2 * CHUNK + 10);
        throw new Error("connection reset by peer");
      }
      await expect(store.blobs.putStream(broken(), "x")).rejects.toThrow("connection reset by peer");
      expect([await countRows(store), await footprint(b)]).toEqual(before);
    });

    it("a buffered put inside a transaction that rolls back leaves no blob; inside it, the blob reads back", async () => {
      const before = await countRows(store);
      const bytes = seededBytes(CHUNK + 9, 5);
      await expect(
        store.transaction(async (tx) => {
          const stored = await tx.blobs.put(bytes, "x");
          expect(Buffer.from((await tx.blobs.get(stored.sha256))!).equals(bytes)).toBe(true);
          const ranged = await readAll((await tx.blobs.openRead(stored.sha256, { start: CHUNK - 2, end: CHUNK + 1 }))!.stream);
          expect(ranged.equals(bytes.subarray(CHUNK - 2, CHUNK + 2))).toBe(true);
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      // (the S3 store may keep the object, unreferenced under its own sha256: without its row it is no blob)
      expect(await countRows(store)).toEqual(before);
      expect(await store.blobs.has(sha(bytes))).toBe(false);
      expect(await store.blobs.get(sha(bytes))).toBeNull();
    });
  });

  describe("concurrency", () => {
    it("concurrent writes of the same bytes (streamed and buffered) all succeed and store one blob", async () => {
      const bytes = seededBytes(4 * CHUNK + 321, 6);
      const before = await countRows(store);
      const results = await Promise.all([
        ...[0, 1, 2, 3, 4].map(() => store.blobs.putStream(pieces(bytes), "x", { sha256: sha(bytes) })),
        ...[0, 1].map(() => store.blobs.putStream(pieces(bytes), "x")),
        store.blobs.put(bytes, "x"),
        store.transaction((tx) => tx.blobs.put(bytes, "x")),
      ]);
      expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha(bytes)]));
      const after = await countRows(store);
      expect(after.Blob).toBe(before.Blob + 1);
      if (name === "postgres") expect(after.BlobChunk).toBe(before.BlobChunk + 5);
      expect(await placement(sha(bytes))).toEqual(expectedPlacement(sha(bytes), bytes.length));
      if (name === "s3") expect((await b.s3!.keys()).filter((k) => !k.startsWith("blobs/"))).toEqual([]);
      expect(Buffer.from((await store.blobs.get(sha(bytes)))!).equals(bytes)).toBe(true);
    });
  });
});

describe("Postgres store only: cleanup of abandoned writes", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ blobChunkBytes: CHUNK });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("chunks of a write that stalled for a day (its process died) are swept by the next write; a live one is kept", async () => {
    const client = new pg.Client(db.config);
    await client.connect();
    const dead = "11111111-1111-4111-8111-111111111111";
    const live = "22222222-2222-4222-8222-222222222222";
    try {
      await client.query(
        `INSERT INTO "BlobChunk" ("pendingId", "index", "data", "createdAt") VALUES
           ($1, 0, '\\x01', now() - interval '25 hours'), ($1, 1, '\\x02', now() - interval '25 hours'),
           ($2, 0, '\\x03', now() - interval '2 hours')`,
        [dead, live],
      );
      // a fresh store: the sweep runs at its first streamed write
      const fresh = Store.connect(db.config, { poolSize: 1, blobChunkBytes: CHUNK });
      try {
        await fresh.blobs.putStream(pieces(seededBytes(10, 7)), "x");
      } finally {
        await fresh.close();
      }
      const left = await client.query(`SELECT "pendingId" FROM "BlobChunk" WHERE "pendingId" IS NOT NULL ORDER BY "pendingId"`);
      expect(left.rows.map((r) => r.pendingId)).toEqual([live]);
    } finally {
      await client.query(`DELETE FROM "BlobChunk" WHERE "pendingId" IS NOT NULL`);
      await client.end();
    }
  });
});
