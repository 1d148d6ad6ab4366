import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countRows, createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { sha256Hex } from "../../src/store/blob-store.js";
import { isUniqueViolation } from "../../src/store/errors.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("Store on a migrated test database", () => {
  it("starts with every table of the schema present and empty", async () => {
    const counts = await countRows(db.store);
    expect(Object.keys(counts)).toEqual(
      expect.arrayContaining(["Group", "ApiKey", "Blob", "Model", "Layer", "StimulusSet", "Stimulus", "Job", "Metamer"]),
    );
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
  });

  it("stores blobs by content address and returns the same bytes", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    const stored = await db.store.blobs.put(bytes, "application/octet-stream");
    expect(stored.sha256).toBe(sha256Hex(bytes));
    expect(stored.byteSize).toBe(6);
    // a second put of the same bytes is a no-op on the same row
    await db.store.blobs.put(bytes, "application/octet-stream");
    expect((await countRows(db.store)).Blob).toBe(1);
    expect(Array.from((await db.store.blobs.get(stored.sha256))!)).toEqual(Array.from(bytes));
    expect(await db.store.blobs.has(stored.sha256)).toBe(true);
    expect(await db.store.blobs.has("0".repeat(64))).toBe(false);
    expect(await db.store.blobs.get("0".repeat(64))).toBeNull();
  });

  it("rolls back every write of a failed transaction", async () => {
    const before = await countRows(db.store);
    await expect(
      db.store.transaction(async (tx) => {
        await tx.groups.createGroup("rollback-lab");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await countRows(db.store)).toEqual(before);
    expect(await db.store.groups.findGroupByName("rollback-lab")).toBeNull();
  });

  it("recognises unique-constraint violations (used to retry version races)", async () => {
    await db.store.groups.createGroup("unique-lab");
    const error = await db.store.groups.createGroup("unique-lab").catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(new Error("other"))).toBe(false);
  });

  it("gives each test file its own database", async () => {
    const other = await createTestDatabase();
    try {
      await db.store.groups.createGroup("only-here");
      expect(await other.store.groups.findGroupByName("only-here")).toBeNull();
      expect(other.config.database).not.toBe(db.config.database);
    } finally {
      await other.drop();
    }
  });
});
