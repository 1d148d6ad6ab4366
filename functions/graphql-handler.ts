// The GraphQL API as an AWS Lambda handler (API Gateway HTTP API, payload v2), around the same app as `npm start`.
import { handlers, startServerAndCreateLambdaHandler } from "@as-integrations/aws-lambda";
// The integration is CommonJS and types ApolloServer from the CJS build (docs/stack.md G6): type-only cast below.
import type { ApolloServer as CjsApolloServer } from "@apollo/server" with { "resolution-mode": "require" };
import { createApolloServer, type App } from "../src/app.js";
import type { GraphQLContext } from "../src/graphql/context.js";

/** A handler over the app's services; it has its own Apollo server, which the integration starts. */
export function createGraphQLHandler(app: App) {
  return startServerAndCreateLambdaHandler(
    createApolloServer(app.schema, app.log, app.config.api) as unknown as CjsApolloServer<GraphQLContext>,
    handlers.createAPIGatewayProxyEventV2RequestHandler(),
    {
      context: async ({ event }) =>
        app.contextFor(event.headers?.authorization ?? event.headers?.Authorization, event.requestContext.requestId),
    },
  );
}
