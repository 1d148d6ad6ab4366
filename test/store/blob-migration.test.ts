// Blobs stored before chunking (one bytea in Blob.data) still read after the blob_chunks migration: a database is
// built with the migrations before it, given old-style rows, then migrated.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { PgConfig } from "../../src/store/pg-config.js";
import { Store } from "../../src/store/store.js";
import { seededBytes, sha } from "../helpers/seeded-bytes.js";

const migrationsDir = path.resolve(import.meta.dirname, "../../prisma/migrations");
const CHUNKS_MIGRATION = "20261129111858_blob_chunks";
const OLD_CHUNK = 8 * 1024 * 1024; // the chunk size the migration cuts old blobs into


async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

const server = inject("pgServer");
// A name for the database, not a science draw.
const name = `t_legacy_${randomBytes(6).toString("hex")}`;
const config: PgConfig = { ...server, database: name };
let client: pg.Client;

const files = {
  big: seededBytes(2 * OLD_CHUNK + 100, 11), // three chunks after the migration
  exact: seededBytes(OLD_CHUNK, 12), // exactly one chunk
  small: Buffer.from("ten bytes!"),
  empty: Buffer.alloc(0),
};

beforeAll(async () => {
  const admin = new pg.Client({ ...server, database: "postgres" });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  client = new pg.Client(config);
  await client.connect();
  const folders = (await readdir(migrationsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  expect(folders).toContain(CHUNKS_MIGRATION);
  for (const folder of folders.filter((f) => f < CHUNKS_MIGRATION)) {
    await client.query(await readFile(path.join(migrationsDir, folder, "migration.sql"), "utf8"));
  }
  for (const [label, bytes] of Object.entries(files)) {
    await client.query(`INSERT INTO "Blob" ("sha256", "byteSize", "contentType", "storage", "data") VALUES ($1, $2, $3, 'postgres', $4)`, [
      sha(bytes),
      bytes.length,
      `application/x-${label}`,
      bytes,
    ]);
  }
  await client.query(await readFile(path.join(migrationsDir, CHUNKS_MIGRATION, "migration.sql"), "utf8"));
}, 120_000);

afterAll(async () => {
  await client?.end();
  const admin = new pg.Client({ ...server, database: "postgres" });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

describe("blob_chunks migration: blobs stored as one bytea value", () => {
  it("are cut into 8 MiB chunks and the old column is gone", async () => {
    const rows = await client.query(
      `SELECT b."contentType", b."chunkBytes", count(c.id)::int AS chunks, coalesce(sum(length(c.data)), 0)::int AS bytes
         FROM "Blob" b LEFT JOIN "BlobChunk" c ON c.sha256 = b.sha256 GROUP BY b.sha256 ORDER BY b."contentType"`,
    );
    expect(rows.rows).toEqual([
      { contentType: "application/x-big", chunkBytes: OLD_CHUNK, chunks: 3, bytes: files.big.length },
      { contentType: "application/x-empty", chunkBytes: OLD_CHUNK, chunks: 0, bytes: 0 },
      { contentType: "application/x-exact", chunkBytes: OLD_CHUNK, chunks: 1, bytes: OLD_CHUNK },
      { contentType: "application/x-small", chunkBytes: OLD_CHUNK, chunks: 1, bytes: 10 },
    ]);
    const columns = await client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Blob'`);
    expect(columns.rows.map((r) => r.column_name)).not.toContain("data");
  });

  it("read back whole and by ranges across the old chunk edges through the blob store", async () => {
    // the store's own chunk size differs: each blob is read with the size recorded on its row
    const store = Store.connect(config, { poolSize: 2, blobChunkBytes: 64 * 1024 });
    try {
      for (const bytes of Object.values(files)) {
        expect(Buffer.from((await store.blobs.get(sha(bytes)))!).equals(bytes)).toBe(true);
        expect((await readAll((await store.blobs.openRead(sha(bytes)))!.stream)).equals(bytes)).toBe(true);
      }
      const big = files.big;
      for (const [start, end] of [
        [OLD_CHUNK - 5, OLD_CHUNK + 5],
        [OLD_CHUNK - 1, 2 * OLD_CHUNK],
        [big.length - 1, big.length - 1],
        [0, 0],
      ]) {
        const got = await readAll((await store.blobs.openRead(sha(big), { start, end }))!.stream);
        expect(got.equals(big.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
    } finally {
      await store.close();
    }
  });
});
