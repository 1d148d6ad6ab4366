-- Blobs move from one bytea value per file (Blob.data: at most 1 GiB, and read back as one hex string that broke
-- above ~256 MiB) to BlobChunk rows written and read as streams (issue 9 item 4).
-- Comments here hold no semicolon: the pg adapter that applies migrations splits the script at every one. The old
-- column is dropped last, so a failure before that loses nothing.

-- AlterTable
ALTER TABLE "Blob" ADD COLUMN     "chunkBytes" INTEGER;

-- CreateTable
CREATE TABLE "BlobChunk" (
    "id" BIGSERIAL NOT NULL,
    "sha256" TEXT,
    "pendingId" UUID,
    "index" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BlobChunk_pkey" PRIMARY KEY ("id"),
    -- a chunk belongs either to a stored blob or to a write still arriving, never both or neither
    CONSTRAINT "BlobChunk_owner_check" CHECK (("sha256" IS NULL) <> ("pendingId" IS NULL))
);

-- Chunks are mostly model weights and float tensors that do not compress: EXTERNAL skips the compression attempt and
-- lets substring() (range reads) fetch only the TOAST pieces it needs.
ALTER TABLE "BlobChunk" ALTER COLUMN "data" SET STORAGE EXTERNAL;

-- CreateIndex
CREATE UNIQUE INDEX "BlobChunk_sha256_index_key" ON "BlobChunk"("sha256", "index");

-- CreateIndex
CREATE UNIQUE INDEX "BlobChunk_pendingId_index_key" ON "BlobChunk"("pendingId", "index");

-- AddForeignKey
ALTER TABLE "BlobChunk" ADD CONSTRAINT "BlobChunk_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "Blob"("sha256") ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing blobs: their bytes are cut into 8 MiB chunks inside PostgreSQL (no byte leaves the server), then the old
-- column goes.
UPDATE "Blob" SET "chunkBytes" = 8388608 WHERE "storage" = 'postgres';

INSERT INTO "BlobChunk" ("sha256", "index", "data")
SELECT b."sha256", s.i, substring(b."data" FROM s.i * 8388608 + 1 FOR 8388608)
  FROM "Blob" b
  CROSS JOIN LATERAL generate_series(0, (length(b."data") - 1) / 8388608) AS s(i)
 WHERE b."data" IS NOT NULL AND length(b."data") > 0;

-- AlterTable
ALTER TABLE "Blob" DROP COLUMN "data";
