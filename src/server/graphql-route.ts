import { HeaderMap } from "@apollo/server";
import { AppError } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import { RateLimiter } from "./rate-limit.js";
import { errorResult, readRequestBody, type HttpRequest, type HttpResult, type SharedRoute, type SharedRouteDeps } from "./shared-routes.js";

/** Rate-limit tokens a GraphQL request refused with 400 costs (a valid one costs 1): see RateLimiter.charge. */
export const REFUSED_QUERY_TOKENS = 10;

/**
 * POST and GET /graphql through Apollo, with the per-caller rate limit. The limiter lives as long as the routes: one
 * per server process, one per Lambda container (each enforces its own share).
 */
export function graphqlRoutes(deps: SharedRouteDeps): SharedRoute[] {
  const { apollo, config, log } = deps;
  // One bucket per API key (per client address without a valid key); requests over it get 429 before their body is read.
  const rateLimiter = new RateLimiter({ perSecond: config.api.rateLimitPerSecond, burst: config.api.rateLimitBurst });
  // Inline base64 grows files by 4/3; leave 1 MiB for the rest of the query.
  const bodyLimit = Math.ceil((config.limits.maxInlineBytes * 4) / 3) + 1024 * 1024;

  async function graphql(req: HttpRequest): Promise<HttpResult> {
    const context: GraphQLContext = {
      ...(await deps.contextFor(req.headers.authorization, req.requestId)),
      clientAddress: req.clientAddress,
    };
    const caller = context.caller;
    // Partners all arrive from their consortium's gateway: one bucket per person, not one for the gateway's address.
    const bucket =
      "apiKeyId" in caller ? `key:${caller.apiKeyId}` : "partner" in caller ? `partner:${caller.consortiumId}/${caller.subject}` : `ip:${req.clientAddress ?? "?"}`;
    const wait = rateLimiter.take(bucket);
    if (wait > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(wait));
      const err = new AppError(
        "RATE_LIMITED",
        `rate limit: at most ${config.api.rateLimitPerSecond} requests per second (bursts of ${config.api.rateLimitBurst}) per ${bucket.startsWith("key:") ? "API key" : bucket.startsWith("partner:") ? "partner identity" : "client address without a key"}; retry in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
      return errorResult(err, log, { "retry-after": String(retryAfterSeconds) });
    }
    const raw = req.method === "POST" ? await readRequestBody(req, bodyLimit) : Buffer.alloc(0);
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new AppError("BAD_USER_INPUT", "request body: expected JSON ({ query, variables }), got unparsable text");
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, value);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: req.url.search, body },
      context: async () => context,
    });
    // A query refused before execution (unparsable, invalid, over a limit) costs REFUSED_QUERY_TOKENS in all.
    if (result.status === 400) rateLimiter.charge(bucket, REFUSED_QUERY_TOKENS - 1);
    const outHeaders: Record<string, string> = {};
    for (const [k, v] of result.headers) outHeaders[k] = v;
    let text: string;
    if (result.body.kind === "complete") {
      text = result.body.string;
    } else {
      // Incremental delivery (@defer) is not enabled in this schema; collected in case it ever is.
      text = "";
      for await (const chunk of result.body.asyncIterator) text += chunk;
    }
    return { status: result.status ?? 200, headers: outHeaders, body: text };
  }

  return [
    { method: "POST", pattern: /^\/graphql\/?$/, handle: (req) => graphql(req) },
    { method: "GET", pattern: /^\/graphql\/?$/, handle: (req) => graphql(req) },
  ];
}
