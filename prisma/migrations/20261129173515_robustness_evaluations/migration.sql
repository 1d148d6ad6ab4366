-- AlterEnum
ALTER TYPE "JobKind" ADD VALUE 'ROBUSTNESS';

-- CreateTable
CREATE TABLE "RobustnessEvaluation" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "setId" UUID NOT NULL,
    "norm" TEXT NOT NULL,
    "epsilons" DOUBLE PRECISION[],
    "steps" INTEGER NOT NULL,
    "stepSize" DOUBLE PRECISION NOT NULL,
    "randomStart" BOOLEAN NOT NULL,
    "seed" INTEGER NOT NULL,
    "modelSha256" TEXT NOT NULL,
    "software" JSONB NOT NULL,
    "n" INTEGER NOT NULL,
    "jobIds" TEXT[],
    "results" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "RobustnessEvaluation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RobustnessOutcome" (
    "evaluationId" UUID NOT NULL,
    "stimulusId" UUID NOT NULL,
    "epsilon" DOUBLE PRECISION NOT NULL,
    "correct" BOOLEAN NOT NULL,
    "predicted" INTEGER NOT NULL,

    CONSTRAINT "RobustnessOutcome_pkey" PRIMARY KEY ("evaluationId","stimulusId","epsilon")
);

-- CreateIndex
CREATE INDEX "RobustnessEvaluation_groupId_modelId_idx" ON "RobustnessEvaluation"("groupId", "modelId");

-- AddForeignKey
ALTER TABLE "RobustnessEvaluation" ADD CONSTRAINT "RobustnessEvaluation_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RobustnessEvaluation" ADD CONSTRAINT "RobustnessEvaluation_setId_fkey" FOREIGN KEY ("setId") REFERENCES "StimulusSet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RobustnessOutcome" ADD CONSTRAINT "RobustnessOutcome_evaluationId_fkey" FOREIGN KEY ("evaluationId") REFERENCES "RobustnessEvaluation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
