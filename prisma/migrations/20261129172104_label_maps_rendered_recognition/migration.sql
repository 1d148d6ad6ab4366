-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "labelMapId" UUID;

-- CreateTable
CREATE TABLE "LabelMap" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "categoryNames" TEXT[],
    "categories" JSONB NOT NULL,
    "classToCategory" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LabelMap_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "LabelMap_groupId_name_key" ON "LabelMap"("groupId", "name");

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_labelMapId_fkey" FOREIGN KEY ("labelMapId") REFERENCES "LabelMap"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LabelMap" ADD CONSTRAINT "LabelMap_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (issue 12 item 4): recognizers now classify a metamer's saved rendering (the PNG/WAV decoded back to
-- the recognizer's input), no longer the float iterate. Rows computed the old way are derived data and must never be
-- mixed with the new ones, so they are deleted here (the tally triggers subtract them) and recomputed by each
-- recognizer's backlog: recognizeBacklog(modelId), or the demo, which calls it when recognitions are missing.
-- Natural-stimulus rows are unchanged (a natural stimulus is still decoded from its file).
DELETE FROM "Recognition" WHERE "metamerId" IS NOT NULL;
DELETE FROM "RecognitionTally" WHERE "n" = 0;
