-- Results by configuration (issue 12 item 3) and recognizer panels (issue 13 item 3).

-- AlterTable: batches created before this migration get a hash of their stored config and seed computed here, in
-- SQL (the service computes new ones from canonical JSON, src/services/metrics/config-hash.ts, which SQL cannot
-- reproduce exactly), marked 'legacy-' so that nobody mistakes one for the other.
ALTER TABLE "SynthesisBatch" ADD COLUMN "configHash" TEXT;
UPDATE "SynthesisBatch" SET "configHash" = 'legacy-' || encode(sha256(convert_to(config::text || '|' || seed::text, 'UTF8')), 'hex');
ALTER TABLE "SynthesisBatch" ALTER COLUMN "configHash" SET NOT NULL, ALTER COLUMN "configHash" SET DEFAULT 'unspecified';

-- AlterTable
ALTER TABLE "Metamer" ADD COLUMN     "batchId" UUID,
ADD COLUMN     "configHash" TEXT NOT NULL DEFAULT 'unbatched';

UPDATE "Metamer" m SET "batchId" = b.id, "configHash" = b."configHash"
  FROM "Job" j JOIN "SynthesisBatch" b ON b.id = j."batchId"
 WHERE j.id = m."jobId";

-- AlterTable: the tally gains the configuration in its key. It is rebuilt from the Recognition rows (exact, and the
-- old rows have no configuration to split them by).
ALTER TABLE "RecognitionTally" DROP CONSTRAINT "RecognitionTally_pkey",
ADD COLUMN     "configHash" TEXT NOT NULL DEFAULT 'unbatched',
ADD CONSTRAINT "RecognitionTally_pkey" PRIMARY KEY ("generatorId", "stage", "configHash", "recognizerId");
ALTER TABLE "RecognitionTally" ALTER COLUMN "configHash" DROP DEFAULT;
DELETE FROM "RecognitionTally";
INSERT INTO "RecognitionTally" ("generatorId", "stage", "configHash", "recognizerId", "n", "nCorrect")
SELECT m."modelId", m."stage", m."configHash", r."recognizerId", count(*), count(*) FILTER (WHERE r."correct")
  FROM "Recognition" r JOIN "Metamer" m ON m."id" = r."metamerId"
 WHERE m."passed"
 GROUP BY 1, 2, 3, 4;

-- CreateTable
CREATE TABLE "RecognizerPanel" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "modelIds" UUID[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RecognizerPanel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RecognizerPanel_groupId_name_version_key" ON "RecognizerPanel"("groupId", "name", "version");

-- CreateIndex
CREATE INDEX "SynthesisBatch_modelId_configHash_createdAt_idx" ON "SynthesisBatch"("modelId", "configHash", "createdAt");

-- CreateIndex
CREATE INDEX "Metamer_batchId_idx" ON "Metamer"("batchId");

-- AddForeignKey
ALTER TABLE "RecognizerPanel" ADD CONSTRAINT "RecognizerPanel_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (not generated from schema.prisma), replacing the functions of migration recognition_tally. Function
-- bodies are U&'' strings with \003B for the semicolon (adapter-pg splits scripts at every semicolon).
-- A metamer takes its batch and configuration from its job's batch when it is written, so that the tally triggers
-- (and a BEFORE DELETE trigger, which runs after a cascade has already removed the batch row) never need the batch.
CREATE FUNCTION metamer_take_configuration() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  SELECT b."id", b."configHash" INTO NEW."batchId", NEW."configHash"
    FROM "Job" j JOIN "SynthesisBatch" b ON b."id" = j."batchId"
   WHERE j."id" = NEW."jobId"\003B
  NEW."configHash" := COALESCE(NEW."configHash", ''unbatched'')\003B
  RETURN NEW\003B
END ';

CREATE TRIGGER "Metamer_take_configuration" BEFORE INSERT ON "Metamer"
  FOR EACH ROW EXECUTE FUNCTION metamer_take_configuration();

CREATE OR REPLACE FUNCTION recognition_tally_add() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  INSERT INTO "RecognitionTally" ("generatorId", "stage", "configHash", "recognizerId", "n", "nCorrect")
  SELECT m."modelId", m."stage", m."configHash", i."recognizerId", count(*), count(*) FILTER (WHERE i."correct")
    FROM recognition_inserted i JOIN "Metamer" m ON m."id" = i."metamerId"
   WHERE m."passed"
   GROUP BY m."modelId", m."stage", m."configHash", i."recognizerId"
  ON CONFLICT ("generatorId", "stage", "configHash", "recognizerId") DO UPDATE
     SET "n" = "RecognitionTally"."n" + EXCLUDED."n",
         "nCorrect" = "RecognitionTally"."nCorrect" + EXCLUDED."nCorrect"\003B
  RETURN NULL\003B
END ';

CREATE OR REPLACE FUNCTION recognition_tally_remove() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  UPDATE "RecognitionTally" t
     SET "n" = t."n" - d.n, "nCorrect" = t."nCorrect" - d.c
    FROM (SELECT m."modelId" AS g, m."stage" AS s, m."configHash" AS h, o."recognizerId" AS r, count(*) AS n,
                 count(*) FILTER (WHERE o."correct") AS c
            FROM recognition_deleted o JOIN "Metamer" m ON m."id" = o."metamerId"
           WHERE m."passed"
           GROUP BY 1, 2, 3, 4) d
   WHERE t."generatorId" = d.g AND t."stage" = d.s AND t."configHash" = d.h AND t."recognizerId" = d.r\003B
  RETURN NULL\003B
END ';

CREATE OR REPLACE FUNCTION recognition_tally_forget_metamer() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  IF OLD."passed" THEN
    UPDATE "RecognitionTally" t
       SET "n" = t."n" - d.n, "nCorrect" = t."nCorrect" - d.c
      FROM (SELECT r."recognizerId" AS r, count(*) AS n, count(*) FILTER (WHERE r."correct") AS c
              FROM "Recognition" r WHERE r."metamerId" = OLD."id" GROUP BY 1) d
     WHERE t."generatorId" = OLD."modelId" AND t."stage" = OLD."stage" AND t."configHash" = OLD."configHash"
       AND t."recognizerId" = d.r\003B
  END IF\003B
  RETURN OLD\003B
END ';
