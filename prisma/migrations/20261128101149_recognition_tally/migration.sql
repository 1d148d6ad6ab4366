-- CreateTable
CREATE TABLE "RecognitionTally" (
    "generatorId" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "recognizerId" UUID NOT NULL,
    "n" INTEGER NOT NULL,
    "nCorrect" INTEGER NOT NULL,

    CONSTRAINT "RecognitionTally_pkey" PRIMARY KEY ("generatorId","stage","recognizerId")
);

-- AddForeignKey
ALTER TABLE "RecognitionTally" ADD CONSTRAINT "RecognitionTally_generatorId_fkey" FOREIGN KEY ("generatorId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RecognitionTally" ADD CONSTRAINT "RecognitionTally_recognizerId_fkey" FOREIGN KEY ("recognizerId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (not generated from schema.prisma): keep "RecognitionTally" equal to the aggregate of "Recognition"
-- rows on validated metamers. The function bodies are U&'' strings with \003B for the semicolon because adapter-pg
-- runs migration scripts by splitting them at every semicolon, quotes or not. Statement-level triggers see the rows
-- each INSERT ... ON CONFLICT DO NOTHING truly inserted once (skipped duplicates are not in the transition table), so racing workers cannot double count.
CREATE FUNCTION recognition_tally_add() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  INSERT INTO "RecognitionTally" ("generatorId", "stage", "recognizerId", "n", "nCorrect")
  SELECT m."modelId", m."stage", i."recognizerId", count(*), count(*) FILTER (WHERE i."correct")
    FROM recognition_inserted i JOIN "Metamer" m ON m."id" = i."metamerId"
   WHERE m."passed"
   GROUP BY m."modelId", m."stage", i."recognizerId"
  ON CONFLICT ("generatorId", "stage", "recognizerId") DO UPDATE
     SET "n" = "RecognitionTally"."n" + EXCLUDED."n",
         "nCorrect" = "RecognitionTally"."nCorrect" + EXCLUDED."nCorrect"\003B
  RETURN NULL\003B
END ';

CREATE TRIGGER "Recognition_tally_add" AFTER INSERT ON "Recognition"
  REFERENCING NEW TABLE AS recognition_inserted FOR EACH STATEMENT EXECUTE FUNCTION recognition_tally_add();

-- Direct deletes of recognitions (the metamer still exists).
CREATE FUNCTION recognition_tally_remove() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  UPDATE "RecognitionTally" t
     SET "n" = t."n" - d.n, "nCorrect" = t."nCorrect" - d.c
    FROM (SELECT m."modelId" AS g, m."stage" AS s, o."recognizerId" AS r, count(*) AS n, count(*) FILTER (WHERE o."correct") AS c
            FROM recognition_deleted o JOIN "Metamer" m ON m."id" = o."metamerId"
           WHERE m."passed"
           GROUP BY 1, 2, 3) d
   WHERE t."generatorId" = d.g AND t."stage" = d.s AND t."recognizerId" = d.r\003B
  RETURN NULL\003B
END ';

CREATE TRIGGER "Recognition_tally_remove" AFTER DELETE ON "Recognition"
  REFERENCING OLD TABLE AS recognition_deleted FOR EACH STATEMENT EXECUTE FUNCTION recognition_tally_remove();

-- A deleted metamer takes its recognitions with it (ON DELETE CASCADE), and by the time the statement trigger above runs
-- the metamer row is gone, so subtract its recognitions here, before the cascade.
CREATE FUNCTION recognition_tally_forget_metamer() RETURNS trigger LANGUAGE plpgsql AS U&'
BEGIN
  IF OLD."passed" THEN
    UPDATE "RecognitionTally" t
       SET "n" = t."n" - d.n, "nCorrect" = t."nCorrect" - d.c
      FROM (SELECT r."recognizerId" AS r, count(*) AS n, count(*) FILTER (WHERE r."correct") AS c
              FROM "Recognition" r WHERE r."metamerId" = OLD."id" GROUP BY 1) d
     WHERE t."generatorId" = OLD."modelId" AND t."stage" = OLD."stage" AND t."recognizerId" = d.r\003B
  END IF\003B
  RETURN OLD\003B
END ';

CREATE TRIGGER "Metamer_tally_forget" BEFORE DELETE ON "Metamer"
  FOR EACH ROW EXECUTE FUNCTION recognition_tally_forget_metamer();
