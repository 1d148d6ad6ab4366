-- A job waits for another one in the queue, not inside a worker slot (issue 10 item 6): dependent jobs are not
-- claimable until their dependency SUCCEEDED.

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "dependsOnId" UUID;

-- CreateIndex
CREATE INDEX "Job_dependsOnId_idx" ON "Job"("dependsOnId");

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_dependsOnId_fkey" FOREIGN KEY ("dependsOnId") REFERENCES "Job"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Synthesis jobs queued before this migration name their null distribution job only in their payload: give them the
-- column too, so they are not claimed (and left waiting in a worker) while that job is still pending.
UPDATE "Job" j SET "dependsOnId" = n."id"
  FROM "Job" n
 WHERE j."kind" = 'SYNTHESIS' AND j."status" IN ('QUEUED', 'RUNNING')
   AND n."id"::text = j."payload"->>'nullJobId';
