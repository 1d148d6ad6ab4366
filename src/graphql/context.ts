import type { Logger } from "../logger.js";
import type { Caller } from "../services/authorization.js";
import type { Services } from "../services/index.js";

/** What every resolver receives through @Ctx(). Built once per request in src/server/graphql-handler.ts. */
export interface GraphQLContext {
  /** The authenticated caller, or an anonymous one with the reason; services decide what needs a role. */
  caller: Caller;
  services: Services;
  log: Logger;
  requestId: string;
  /** The client's address (HTTP server only): rate limits callers without a key. */
  clientAddress?: string;
}
