import "reflect-metadata";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import type { GraphQLSchema } from "graphql";
import type { ApiLimits, AppConfig } from "./config.js";
import type { GraphQLContext } from "./graphql/context.js";
import { makeFormatError } from "./graphql/errors.js";
import { queryLimitsPlugin, queryValidationRules } from "./graphql/limits-plugin.js";
import { buildAppSchema } from "./graphql/schema.js";
import { createLogger, type Logger } from "./logger.js";
import { createHttpServer, type Route } from "./server/http.js";
import type { Clock } from "./services/authorization.js";
import { createServices, type Services } from "./services/index.js";
import type { PgConfig } from "./store/pg-config.js";
import { Store } from "./store/store.js";

export interface AppDeps {
  /** Connect to this database... */
  database?: PgConfig;
  /** ...or use this store (tests); the app then does not close it. */
  store?: Store;
  log?: Logger;
  routes?: Route[];
  /** The hub's clock (key expiry, share embargoes); tests inject one they move. Default: the system time. */
  clock?: Clock;
}

export interface App {
  config: AppConfig;
  store: Store;
  services: Services;
  schema: GraphQLSchema;
  apollo: ApolloServer<GraphQLContext>;
  server: Server;
  log: Logger;
  /** Builds the GraphQL context of one request from its Authorization header (HTTP server and Lambda handler). */
  contextFor(authorization: string | undefined, requestId: string): Promise<GraphQLContext>;
  /** Listens (port 0 = any free port); resolves to the base URL, e.g. http://127.0.0.1:4000. */
  listen(port?: number, host?: string): Promise<string>;
  /** The base URL once listening. */
  readonly url: string;
  /** Runs `fn` on close, before the HTTP server and database go (e.g. stopping a worker pool). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

/**
 * The Apollo server with the API's error contract and query limits (not started; the HTTP server and Lambda
 * integration start it). Introspection is allowed here and refused per request to callers without a key
 * (queryLimitsPlugin), since Apollo's own switch is global.
 */
export function createApolloServer(schema: GraphQLSchema, log: Logger, limits: ApiLimits): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    formatError: makeFormatError(log),
    includeStacktraceInErrorResponses: false,
    introspection: true,
    parseOptions: { maxTokens: limits.maxQueryTokens },
    validationRules: queryValidationRules(limits),
    // The schema is a federation subgraph; inline tracing (ftv1) is for Apollo's hosted studio, which hubs do not use.
    plugins: [queryLimitsPlugin(schema, limits), ApolloServerPluginInlineTraceDisabled()],
  });
}

/** Wires store, services, GraphQL and HTTP. Nothing happens on import; nothing listens until `listen()`. */
export async function createApp(config: AppConfig, deps: AppDeps = {}): Promise<App> {
  const log = deps.log ?? createLogger(config.logLevel);
  if (!deps.store && !deps.database) throw new Error("createApp: pass either `database` or `store`");
  const ownsStore = !deps.store;
  const store = deps.store ?? Store.connect(deps.database!, { blobChunkBytes: config.blobChunkBytes, s3: config.s3 });
  let url = config.publicUrl ?? "";
  const services = createServices({ store, config, log, baseUrl: () => url, clock: deps.clock });
  const schema = await buildAppSchema(config.hubName);
  const apollo = createApolloServer(schema, log, config.api);
  await apollo.start();
  const contextFor = async (authorization: string | undefined, requestId: string): Promise<GraphQLContext> => ({
    caller: await services.auth.authenticate(authorization),
    services,
    log: log.child({ requestId }),
    requestId,
  });
  const server = createHttpServer({ apollo, services, config, log, routes: deps.routes, contextFor });
  const closers: (() => Promise<void> | void)[] = [];

  return {
    config,
    store,
    services,
    schema,
    apollo,
    server,
    log,
    contextFor,
    get url() {
      return url;
    },
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          const base = `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
          url = config.publicUrl ?? base;
          resolve(base);
        });
      });
    },
    onClose(fn) {
      closers.push(fn);
    },
    async close() {
      for (const fn of closers.reverse()) await fn();
      await services.statsPool.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
      if (ownsStore) await store.close();
    },
  };
}
