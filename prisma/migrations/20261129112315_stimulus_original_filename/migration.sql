-- AlterTable
ALTER TABLE "Stimulus" ADD COLUMN     "originalFilename" TEXT;
