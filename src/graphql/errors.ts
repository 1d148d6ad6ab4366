import type { GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { isAppError, toPublicError } from "../errors.js";
import type { Logger } from "../logger.js";

// Codes produced by graphql-js, Apollo and type-graphql themselves for bad requests; passed through as they are.
const PASS_THROUGH = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * The error contract: an AppError becomes its code and message (plus its details); request errors from
 * graphql-js/type-graphql keep their codes; anything else becomes INTERNAL with a reference id (`errorId` in the
 * extensions and the message), and its details are logged under that id (toPublicError).
 */
export function makeFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (!isAppError(original) && typeof code === "string" && PASS_THROUGH.has(code)) return formatted;
    const err = toPublicError(original, log, { path: formatted.path }, "unexpected error in GraphQL request");
    return {
      message: err.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { ...err.details, code: err.code },
    };
  };
}
