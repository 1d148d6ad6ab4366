import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
// Only the error module: the rest of the engine stays unloaded for callers that merely handle errors.
import { isEngineError, type EngineErrorCode } from "./engine/errors.js";
import type { Logger } from "pino";

/**
 * The public error codes of the API (`extensions.code`). Messages name the argument, what was expected and
 * what arrived. Anything that is not an AppError (and an AppError coded INTERNAL) reaches clients only as INTERNAL
 * with a reference id (`toPublicError`).
 */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "INVALID_ONNX"
  | "UNSUPPORTED_MODEL"
  | "PAYLOAD_TOO_LARGE"
  | "RANGE_NOT_SATISFIABLE"
  | "INVALID_STIMULUS"
  | "CONFLICT"
  | "NON_FINITE_LOSS"
  | "CANCELLED"
  | "RATE_LIMITED"
  | "INTERNAL";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, { extensions: { code: this.code, ...this.details } });
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/** The one place the engine's failures become the API's public codes. */
const ENGINE_TO_API: Record<EngineErrorCode, ErrorCode> = {
  INVALID_ARGUMENT: "BAD_USER_INPUT",
  INVALID_ONNX: "INVALID_ONNX",
  UNSUPPORTED_MODEL: "UNSUPPORTED_MODEL",
  INVALID_MEDIA: "INVALID_STIMULUS",
  NON_FINITE_LOSS: "NON_FINITE_LOSS",
  INTERNAL: "INTERNAL",
};

/** An AppError as it is, an engine error as the API's AppError; null for anything else (an unexpected error). */
export function asAppError(e: unknown): AppError | null {
  if (isAppError(e)) return e;
  if (isEngineError(e)) return new AppError(ENGINE_TO_API[e.code], e.message, e.details);
  return null;
}

/** Runs engine code for a service: an engine error comes out as the API's AppError, other errors unchanged. */
export function engineCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asAppError(e) ?? e;
  }
}

/**
 * What a client may see of any error: an AppError as it is (its message is written for users); anything else, and an
 * AppError coded INTERNAL (an invariant broken inside the server), becomes INTERNAL with a fresh reference id and a
 * message that says nothing more. The details (message, stack) go to `log` under the same `errorId`, so an operator
 * can find them from what the user reports. The one mapping behind GraphQL errors, HTTP JSON errors and stored job errors.
 */
export function toPublicError(e: unknown, log: Logger, context: Record<string, unknown>, what: string): AppError {
  const known = asAppError(e);
  if (known && known.code !== "INTERNAL") return known;
  // A reference for matching a report with the log, not a science draw: crypto randomness is right here.
  const errorId = randomUUID();
  log.error({ ...context, err: e, errorId }, what);
  return new AppError("INTERNAL", `internal error (reference ${errorId}); the details are in the server log`, { errorId });
}
