// The engine's own failures. The engine knows nothing of the API that serves it: src/errors.ts maps these codes to
// the API's public codes in one table, wherever an engine error leaves a service.
export type EngineErrorCode =
  /** an option, tensor or shape the caller passed is not acceptable */
  | "INVALID_ARGUMENT"
  /** the bytes are not a readable ONNX model */
  | "INVALID_ONNX"
  /** a readable model the engine cannot run or differentiate */
  | "UNSUPPORTED_MODEL"
  /** an image or sound that cannot be decoded, or is over a decoding limit */
  | "INVALID_MEDIA"
  /** the loss or its gradient became NaN or infinite */
  | "NON_FINITE_LOSS"
  /** an invariant of the engine itself broke */
  | "INTERNAL";

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "EngineError";
  }
}

export const isEngineError = (e: unknown): e is EngineError => e instanceof EngineError;
