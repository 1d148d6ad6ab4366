// Job payloads are read back through their zod schema (src/services/jobs/payloads.ts), not cast: what the enqueuing
// code writes reads back the same, and a row that does not match fails its job with the field named.
import { describe, expect, it } from "vitest";
import { FEATHER_2023_DEFAULTS, resolveSynthesisConfig } from "../../src/engine/index.js";
import { AppError } from "../../src/errors.js";
import { jobPayload, readPayload, type SynthesisPayload } from "../../src/services/jobs/payloads.js";

const synthesis: SynthesisPayload = {
  seed: 7,
  config: resolveSynthesisConfig({ recipe: "ADAM_RANGE_PENALTY", maxSteps: 20, loss: "mse" }),
  stage: "fc1_relu",
  stageRequested: "fc1",
  fakeRelu: true,
  setId: "0b8f6f2e-6f5e-4f57-9e55-3c1c1a4e6c01",
  nullJobId: "5d7c1a0e-2b8f-4c3a-9d6e-7f8e9a0b1c2d",
  referenceNullId: null,
  checkpointEvery: 500,
};

/** A job row's payload as PostgreSQL gives it back: JSON, so no prototypes, undefined or typed arrays survive. */
const stored = (payload: Record<string, unknown>) => ({ id: "job-1", payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown> });

function refusal(payload: Record<string, unknown>): AppError {
  try {
    readPayload(stored(payload), "SYNTHESIS");
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("the payload was accepted");
}

describe("job payloads", () => {
  it("reads back what the enqueuing code wrote, for every kind", () => {
    expect(readPayload(stored(jobPayload("SYNTHESIS", synthesis)), "SYNTHESIS")).toEqual(synthesis);
    const feather = { ...synthesis, config: { ...FEATHER_2023_DEFAULTS, rounds: 2, stepsPerRound: 3 }, nullJobId: null };
    expect(readPayload(stored(jobPayload("SYNTHESIS", feather)), "SYNTHESIS")).toEqual(feather);
    const nulls = { setId: synthesis.setId, stages: ["fc1_relu", "logits"], n: 45, seed: 3 };
    expect(readPayload(stored(jobPayload("NULL_DISTRIBUTION", nulls)), "NULL_DISTRIBUTION")).toEqual(nulls);
    const recognition = { metamerIds: ["m1", "m2"], stimulusIds: ["s1"] };
    expect(readPayload(stored(jobPayload("RECOGNITION", recognition)), "RECOGNITION")).toEqual(recognition);
  });

  it("reads a synthesis payload queued before nullJobId existed as having no null job", () => {
    const { nullJobId: _, ...older } = synthesis;
    expect(readPayload(stored(older), "SYNTHESIS").nullJobId).toBeNull();
  });

  it("refuses a payload that does not match its schema as INTERNAL, naming the job, the field and what is there", () => {
    const { stage: _, ...noStage } = synthesis;
    const missing = refusal(noStage);
    expect(missing.code).toBe("INTERNAL");
    expect(missing.message).toMatch(/^job job-1: its SYNTHESIS payload does not match the schema \(payload\.stage: .*received undefined/);

    const badConfig = refusal({ ...synthesis, config: { ...synthesis.config, maxSteps: 0 } });
    expect(badConfig.message).toMatch(/payload\.config\.maxSteps: .*>0/);

    const wrongRecipe = refusal({ ...synthesis, config: { ...synthesis.config, recipe: "SGD" } });
    expect(wrongRecipe.message).toMatch(/payload\.config\.recipe/);
  });
});
