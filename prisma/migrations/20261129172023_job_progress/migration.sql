-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "progressAt" TIMESTAMPTZ(3),
ADD COLUMN     "stepsPerSecond" DOUBLE PRECISION;
