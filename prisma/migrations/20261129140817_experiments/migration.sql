-- CreateEnum
CREATE TYPE "ExperimentStatus" AS ENUM ('OPEN', 'CLOSED');

-- CreateEnum
CREATE TYPE "ParticipantStatus" AS ENUM ('PENDING', 'STARTED', 'COMPLETED', 'EXCLUDED');

-- CreateTable
CREATE TABLE "Experiment" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "modality" "Modality" NOT NULL,
    "design" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "batchIds" UUID[],
    "stimulusSetId" UUID NOT NULL,
    "studyId" UUID,
    "status" "ExperimentStatus" NOT NULL DEFAULT 'OPEN',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Experiment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExperimentParticipant" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "label" TEXT NOT NULL,
    "tokenHash" TEXT,
    "trials" JSONB NOT NULL,
    "prolificPid" TEXT,
    "prolificStudyId" TEXT,
    "prolificSessionId" TEXT,
    "demographics" JSONB,
    "status" "ParticipantStatus" NOT NULL DEFAULT 'PENDING',
    "exclusionReason" TEXT,
    "startedAt" TIMESTAMPTZ(3),
    "completedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExperimentParticipant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExperimentResponse" (
    "id" BIGSERIAL NOT NULL,
    "participantId" UUID NOT NULL,
    "trialIndex" INTEGER NOT NULL,
    "response" TEXT NOT NULL,
    "correct" BOOLEAN NOT NULL,
    "rtMs" DOUBLE PRECISION NOT NULL,
    "onsetMs" DOUBLE PRECISION NOT NULL,
    "offsetMs" DOUBLE PRECISION NOT NULL,
    "frames" INTEGER NOT NULL,
    "refreshHz" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExperimentResponse_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Experiment_groupId_createdAt_idx" ON "Experiment"("groupId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentParticipant_tokenHash_key" ON "ExperimentParticipant"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentParticipant_experimentId_ordinal_key" ON "ExperimentParticipant"("experimentId", "ordinal");

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentParticipant_experimentId_label_key" ON "ExperimentParticipant"("experimentId", "label");

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentResponse_participantId_trialIndex_key" ON "ExperimentResponse"("participantId", "trialIndex");

-- AddForeignKey
ALTER TABLE "Experiment" ADD CONSTRAINT "Experiment_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Experiment" ADD CONSTRAINT "Experiment_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExperimentParticipant" ADD CONSTRAINT "ExperimentParticipant_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExperimentResponse" ADD CONSTRAINT "ExperimentResponse_participantId_fkey" FOREIGN KEY ("participantId") REFERENCES "ExperimentParticipant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
