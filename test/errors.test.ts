// The error contract's one mapping: the engine's failures become the API's public codes; anything else is INTERNAL
// with a reference id.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EngineError, type EngineErrorCode } from "../src/engine/index.js";
import { AppError, asAppError, toPublicError } from "../src/errors.js";

const silent = pino({ level: "silent" });

describe("engine errors at the API's edge", () => {
  it.each<[EngineErrorCode, string]>([
    ["INVALID_ARGUMENT", "BAD_USER_INPUT"],
    ["INVALID_ONNX", "INVALID_ONNX"],
    ["UNSUPPORTED_MODEL", "UNSUPPORTED_MODEL"],
    ["INVALID_MEDIA", "INVALID_STIMULUS"],
    ["NON_FINITE_LOSS", "NON_FINITE_LOSS"],
  ])("%s becomes %s with its message and details", (engineCode, apiCode) => {
    const mapped = toPublicError(new EngineError(engineCode, "what went wrong", { node: "n1" }), silent, {}, "test");
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code: apiCode, message: "what went wrong", details: { node: "n1" } });
  });

  it("an engine INTERNAL is masked like any unexpected error", () => {
    const mapped = toPublicError(new EngineError("INTERNAL", "invariant broke at /src/x.ts"), silent, {}, "test");
    expect(mapped.code).toBe("INTERNAL");
    expect(mapped.message).not.toContain("/src/x.ts");
    expect(mapped.details.errorId).toEqual(expect.any(String));
  });

  it("asAppError leaves AppErrors alone and knows nothing of other errors", () => {
    const app = new AppError("NOT_FOUND", "no such model");
    expect(asAppError(app)).toBe(app);
    expect(asAppError(new Error("disk on fire"))).toBeNull();
  });
});
