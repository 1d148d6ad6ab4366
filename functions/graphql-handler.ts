// The API's Lambda handler. It serves every route now, not only /graphql (functions/http.ts); the old name is kept
// for the entry module (functions/graphql.ts) and the infrastructure that points at it.
export { createHttpHandler as createGraphQLHandler } from "./http.js";
