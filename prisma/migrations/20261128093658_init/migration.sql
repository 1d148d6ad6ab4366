-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('READER', 'MEMBER', 'ADMIN');

-- CreateEnum
CREATE TYPE "Modality" AS ENUM ('IMAGE', 'AUDIO');

-- CreateEnum
CREATE TYPE "TrainingRegime" AS ENUM ('STANDARD', 'ADVERSARIAL', 'RANDOM_PERTURBATION', 'OTHER');

-- CreateEnum
CREATE TYPE "ModelSource" AS ENUM ('UPLOADED', 'REFERENCE');

-- CreateEnum
CREATE TYPE "Visibility" AS ENUM ('PRIVATE', 'SHARED');

-- CreateEnum
CREATE TYPE "UploadPurpose" AS ENUM ('MODEL', 'STIMULUS');

-- CreateEnum
CREATE TYPE "UploadStatus" AS ENUM ('PENDING', 'COMPLETE', 'CONSUMED');

-- CreateEnum
CREATE TYPE "JobKind" AS ENUM ('SYNTHESIS', 'NULL_DISTRIBUTION', 'RECOGNITION');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "Observer" AS ENUM ('HUMAN', 'NETWORK');

-- CreateTable
CREATE TABLE "Group" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Blob" (
    "sha256" TEXT NOT NULL,
    "byteSize" BIGINT NOT NULL,
    "contentType" TEXT NOT NULL,
    "storage" TEXT NOT NULL DEFAULT 'postgres',
    "data" BYTEA,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Blob_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "BlobGrant" (
    "groupId" UUID NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "BlobGrant_pkey" PRIMARY KEY ("groupId","sha256")
);

-- CreateTable
CREATE TABLE "Upload" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "purpose" "UploadPurpose" NOT NULL,
    "byteSize" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "status" "UploadStatus" NOT NULL DEFAULT 'PENDING',
    "blobSha256" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Upload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Model" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "source" "ModelSource" NOT NULL DEFAULT 'UPLOADED',
    "visibility" "Visibility" NOT NULL DEFAULT 'PRIVATE',
    "studyId" UUID,
    "modality" "Modality" NOT NULL,
    "sha256" TEXT,
    "byteSize" BIGINT,
    "opset" INTEGER,
    "inputName" TEXT,
    "inputShape" INTEGER[],
    "inputRange" DOUBLE PRECISION[],
    "sampleRate" INTEGER,
    "outputName" TEXT,
    "classLabels" TEXT[],
    "trainingRegime" "TrainingRegime" NOT NULL DEFAULT 'STANDARD',
    "trainingNorm" TEXT,
    "trainingEpsilon" DOUBLE PRECISION,
    "stageLabels" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Layer" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "label" TEXT,
    "shape" INTEGER[],
    "producerOp" TEXT NOT NULL,
    "order" INTEGER NOT NULL,
    "differentiable" BOOLEAN NOT NULL DEFAULT true,
    "unsupportedOps" JSONB NOT NULL DEFAULT '[]',

    CONSTRAINT "Layer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StimulusSet" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "modality" "Modality" NOT NULL,
    "classLabels" TEXT[],
    "sampleRate" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StimulusSet_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Stimulus" (
    "id" UUID NOT NULL,
    "setId" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Stimulus_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StimulusTensor" (
    "stimulusId" UUID NOT NULL,
    "shapeKey" TEXT NOT NULL,
    "shape" INTEGER[],
    "blobSha256" TEXT NOT NULL,

    CONSTRAINT "StimulusTensor_pkey" PRIMARY KEY ("stimulusId","shapeKey")
);

-- CreateTable
CREATE TABLE "SynthesisBatch" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "config" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "idempotencyKey" TEXT,
    "cancelledAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SynthesisBatch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" UUID NOT NULL,
    "kind" "JobKind" NOT NULL,
    "groupId" UUID NOT NULL,
    "batchId" UUID,
    "modelId" UUID,
    "stimulusId" UUID,
    "stage" TEXT,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL DEFAULT 3,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "heartbeatAt" TIMESTAMPTZ(3),
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "totalIterations" INTEGER NOT NULL DEFAULT 0,
    "loss" DOUBLE PRECISION,
    "checkpoint" BYTEA,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Metamer" (
    "id" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "stimulusId" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "seed" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "history" JSONB NOT NULL,
    "certificate" JSONB NOT NULL,
    "passed" BOOLEAN NOT NULL,
    "tensorSha256" TEXT NOT NULL,
    "renderingSha256" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "softwareVersions" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Metamer_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NullDistribution" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "setId" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "n" INTEGER NOT NULL,
    "seed" INTEGER NOT NULL,
    "maxima" JSONB NOT NULL,
    "quantiles" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NullDistribution_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Recognition" (
    "id" UUID NOT NULL,
    "recognizerId" UUID NOT NULL,
    "metamerId" UUID,
    "stimulusId" UUID,
    "predictedLabel" TEXT NOT NULL,
    "correct" BOOLEAN NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Recognition_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Study" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "importedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Study_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HumanScore" (
    "id" BIGSERIAL NOT NULL,
    "studyId" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "experiment" TEXT NOT NULL,
    "participant" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "observer" "Observer" NOT NULL,
    "proportionCorrect" DOUBLE PRECISION,

    CONSTRAINT "HumanScore_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CrossModelResult" (
    "id" BIGSERIAL NOT NULL,
    "studyId" UUID NOT NULL,
    "recognizerId" UUID NOT NULL,
    "generatorId" UUID NOT NULL,
    "stage" TEXT NOT NULL,
    "nMetamers" INTEGER NOT NULL,
    "nCorrect" INTEGER NOT NULL,
    "correctByMetamer" TEXT NOT NULL,

    CONSTRAINT "CrossModelResult_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Group_name_key" ON "Group"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- CreateIndex
CREATE INDEX "ApiKey_groupId_idx" ON "ApiKey"("groupId");

-- CreateIndex
CREATE INDEX "Upload_groupId_idx" ON "Upload"("groupId");

-- CreateIndex
CREATE INDEX "Model_groupId_createdAt_idx" ON "Model"("groupId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Model_groupId_name_version_key" ON "Model"("groupId", "name", "version");

-- CreateIndex
CREATE INDEX "Layer_modelId_order_idx" ON "Layer"("modelId", "order");

-- CreateIndex
CREATE UNIQUE INDEX "Layer_modelId_name_key" ON "Layer"("modelId", "name");

-- CreateIndex
CREATE INDEX "StimulusSet_groupId_createdAt_idx" ON "StimulusSet"("groupId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "Stimulus_setId_position_idx" ON "Stimulus"("setId", "position");

-- CreateIndex
CREATE UNIQUE INDEX "Stimulus_setId_sha256_key" ON "Stimulus"("setId", "sha256");

-- CreateIndex
CREATE UNIQUE INDEX "SynthesisBatch_groupId_idempotencyKey_key" ON "SynthesisBatch"("groupId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "Job_status_createdAt_idx" ON "Job"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Job_batchId_idx" ON "Job"("batchId");

-- CreateIndex
CREATE UNIQUE INDEX "Metamer_jobId_key" ON "Metamer"("jobId");

-- CreateIndex
CREATE INDEX "Metamer_modelId_stage_idx" ON "Metamer"("modelId", "stage");

-- CreateIndex
CREATE UNIQUE INDEX "NullDistribution_modelId_setId_stage_key" ON "NullDistribution"("modelId", "setId", "stage");

-- CreateIndex
CREATE UNIQUE INDEX "Recognition_recognizerId_metamerId_key" ON "Recognition"("recognizerId", "metamerId");

-- CreateIndex
CREATE UNIQUE INDEX "Recognition_recognizerId_stimulusId_key" ON "Recognition"("recognizerId", "stimulusId");

-- CreateIndex
CREATE UNIQUE INDEX "Study_groupId_key_key" ON "Study"("groupId", "key");

-- CreateIndex
CREATE INDEX "HumanScore_modelId_stage_observer_idx" ON "HumanScore"("modelId", "stage", "observer");

-- CreateIndex
CREATE UNIQUE INDEX "HumanScore_studyId_experiment_modelId_participant_stage_obs_key" ON "HumanScore"("studyId", "experiment", "modelId", "participant", "stage", "observer");

-- CreateIndex
CREATE INDEX "CrossModelResult_generatorId_stage_idx" ON "CrossModelResult"("generatorId", "stage");

-- CreateIndex
CREATE UNIQUE INDEX "CrossModelResult_studyId_recognizerId_generatorId_stage_key" ON "CrossModelResult"("studyId", "recognizerId", "generatorId", "stage");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BlobGrant" ADD CONSTRAINT "BlobGrant_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BlobGrant" ADD CONSTRAINT "BlobGrant_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "Blob"("sha256") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Upload" ADD CONSTRAINT "Upload_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Layer" ADD CONSTRAINT "Layer_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StimulusSet" ADD CONSTRAINT "StimulusSet_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Stimulus" ADD CONSTRAINT "Stimulus_setId_fkey" FOREIGN KEY ("setId") REFERENCES "StimulusSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StimulusTensor" ADD CONSTRAINT "StimulusTensor_stimulusId_fkey" FOREIGN KEY ("stimulusId") REFERENCES "Stimulus"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SynthesisBatch" ADD CONSTRAINT "SynthesisBatch_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_batchId_fkey" FOREIGN KEY ("batchId") REFERENCES "SynthesisBatch"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_stimulusId_fkey" FOREIGN KEY ("stimulusId") REFERENCES "Stimulus"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metamer" ADD CONSTRAINT "Metamer_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metamer" ADD CONSTRAINT "Metamer_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metamer" ADD CONSTRAINT "Metamer_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Metamer" ADD CONSTRAINT "Metamer_stimulusId_fkey" FOREIGN KEY ("stimulusId") REFERENCES "Stimulus"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NullDistribution" ADD CONSTRAINT "NullDistribution_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "NullDistribution" ADD CONSTRAINT "NullDistribution_setId_fkey" FOREIGN KEY ("setId") REFERENCES "StimulusSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recognition" ADD CONSTRAINT "Recognition_recognizerId_fkey" FOREIGN KEY ("recognizerId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recognition" ADD CONSTRAINT "Recognition_metamerId_fkey" FOREIGN KEY ("metamerId") REFERENCES "Metamer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recognition" ADD CONSTRAINT "Recognition_stimulusId_fkey" FOREIGN KEY ("stimulusId") REFERENCES "Stimulus"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Study" ADD CONSTRAINT "Study_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HumanScore" ADD CONSTRAINT "HumanScore_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HumanScore" ADD CONSTRAINT "HumanScore_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CrossModelResult" ADD CONSTRAINT "CrossModelResult_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CrossModelResult" ADD CONSTRAINT "CrossModelResult_recognizerId_fkey" FOREIGN KEY ("recognizerId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CrossModelResult" ADD CONSTRAINT "CrossModelResult_generatorId_fkey" FOREIGN KEY ("generatorId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;
