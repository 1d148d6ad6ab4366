import { GraphQLError } from "graphql";

/**
 * The public error codes of the API (`extensions.code`). Messages name the argument, what was expected and
 * what arrived. Anything that is not an AppError is masked as INTERNAL_SERVER_ERROR by the server.
 */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "INVALID_ONNX"
  | "UNSUPPORTED_MODEL"
  | "PAYLOAD_TOO_LARGE"
  | "INVALID_STIMULUS"
  | "CONFLICT"
  | "NON_FINITE_LOSS"
  | "CANCELLED"
  | "INTERNAL_SERVER_ERROR";

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
