-- CreateEnum
CREATE TYPE "ShareObjectKind" AS ENUM ('MODEL', 'STIMULUS_SET', 'SYNTHESIS_BATCH', 'STUDY');

-- CreateEnum
CREATE TYPE "ShareTargetKind" AS ENUM ('GROUP', 'HUB', 'PARTNER');

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "expiresAt" TIMESTAMPTZ(3),
ADD COLUMN     "instanceAdmin" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "Share" (
    "id" UUID NOT NULL,
    "ownerGroupId" UUID NOT NULL,
    "objectKind" "ShareObjectKind" NOT NULL,
    "objectId" UUID NOT NULL,
    "targetKind" "ShareTargetKind" NOT NULL,
    "targetGroupId" UUID,
    "consortiumId" TEXT,
    "partnerGroup" TEXT,
    "embargoUntil" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Share_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Share_objectKind_objectId_idx" ON "Share"("objectKind", "objectId");

-- CreateIndex
CREATE INDEX "Share_ownerGroupId_createdAt_idx" ON "Share"("ownerGroupId", "createdAt" DESC);

-- AddForeignKey
ALTER TABLE "Share" ADD CONSTRAINT "Share_ownerGroupId_fkey" FOREIGN KEY ("ownerGroupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Share" ADD CONSTRAINT "Share_targetGroupId_fkey" FOREIGN KEY ("targetGroupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: a share names exactly the target fields of its kind
ALTER TABLE "Share" ADD CONSTRAINT "Share_target_check" CHECK (
  ("targetKind" = 'GROUP' AND "targetGroupId" IS NOT NULL AND "consortiumId" IS NULL AND "partnerGroup" IS NULL)
  OR ("targetKind" = 'HUB' AND "targetGroupId" IS NULL AND "consortiumId" IS NULL AND "partnerGroup" IS NULL)
  OR ("targetKind" = 'PARTNER' AND "targetGroupId" IS NULL AND "consortiumId" IS NOT NULL AND "partnerGroup" IS NOT NULL)
);

-- Hand-written: models marked with the old Model.visibility = 'SHARED' become HUB shares (the column is no longer read)
INSERT INTO "Share" (id, "ownerGroupId", "objectKind", "objectId", "targetKind")
SELECT gen_random_uuid(), m."groupId", 'MODEL', m.id, 'HUB' FROM "Model" m WHERE m.visibility = 'SHARED';

-- Hand-written: the old rule "an ADMIN key of the hub's first group administers the hub" carried over to the new flag
UPDATE "ApiKey" k SET "instanceAdmin" = true
 WHERE k.role = 'ADMIN'
   AND k."groupId" = (SELECT g.id FROM "Group" g ORDER BY g."createdAt", g.id LIMIT 1);
