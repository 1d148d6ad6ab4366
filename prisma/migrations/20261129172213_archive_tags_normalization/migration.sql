-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "archivedAt" TIMESTAMPTZ(3),
ADD COLUMN     "normalizationMean" DOUBLE PRECISION[],
ADD COLUMN     "normalizationStd" DOUBLE PRECISION[],
ADD COLUMN     "originalSha256" TEXT,
ADD COLUMN     "tags" TEXT[];

-- AlterTable
ALTER TABLE "StimulusSet" ADD COLUMN     "archivedAt" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "Stimulus" ADD COLUMN     "resize" JSONB;

-- AlterTable
ALTER TABLE "SynthesisBatch" ADD COLUMN     "archivedAt" TIMESTAMPTZ(3);
