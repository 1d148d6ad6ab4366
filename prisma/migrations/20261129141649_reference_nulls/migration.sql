-- CreateTable
CREATE TABLE "ReferenceNull" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "setId" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "augmentation" JSONB NOT NULL,
    "augmentationKey" TEXT NOT NULL,
    "n" INTEGER NOT NULL,
    "seed" INTEGER NOT NULL,
    "jobId" UUID,
    "measured" INTEGER,
    "maxima" JSONB,
    "quantiles" JSONB,
    "elapsedMs" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ReferenceNull_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ReferenceNull_groupId_modelId_idx" ON "ReferenceNull"("groupId", "modelId");

-- CreateIndex
CREATE UNIQUE INDEX "ReferenceNull_modelId_stage_setId_augmentationKey_n_seed_key" ON "ReferenceNull"("modelId", "stage", "setId", "augmentationKey", "n", "seed");

-- AddForeignKey
ALTER TABLE "ReferenceNull" ADD CONSTRAINT "ReferenceNull_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReferenceNull" ADD CONSTRAINT "ReferenceNull_setId_fkey" FOREIGN KEY ("setId") REFERENCES "StimulusSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;
