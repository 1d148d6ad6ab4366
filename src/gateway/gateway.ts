// The consortium gateway: one GraphQL endpoint over every lab's hub. A person authenticates once, with a consortium
// API key; each subgraph request carries a token signed for that hub, saying who they are and in which group. The
// hubs decide what that identity may see (what their groups shared with it).
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import depthLimit from "graphql-depth-limit";
import { GraphQLError, parse } from "graphql";
import type { GatewayConfig } from "./config.js";
import { createGatewayHttp } from "./http.js";
import { findUser, GATEWAY_SUBJECT, TokenIssuer, type Clock, type GatewayUser } from "./tokens.js";

export interface GatewayContext {
  user: GatewayUser;
}

export interface Gateway {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4100/graphql. */
  url: string;
  /** The public signing key as a JWKS (hubs may set METAMERS_CONSORTIUM_JWKS to it). */
  jwksUrl: string;
  /** The composed supergraph (checked at start). */
  supergraphSdl: string;
  /** Composition hints (none expected for hubs of the same version). */
  hints: string[];
  close(): Promise<void>;
}

/** Forwards a subgraph request with a token for the requesting user (or the gateway itself, loading SDL). */
class PartnerDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly audience: string,
    private readonly issuer: TokenIssuer,
  ) {
    super({ url });
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // The enum GraphQLDataSourceRequestKind is not exported by @apollo/gateway's entry point; its values are strings.
    const user = options.kind === ("incoming operation" as typeof options.kind) ? (options.context as GatewayContext).user : GATEWAY_SUBJECT;
    options.request.http?.headers.set("authorization", `Bearer ${await this.issuer.sign(user, this.audience)}`);
  }
}

/** One hub's subgraph SDL, fetched with a gateway token; a hub that does not answer stops the gateway, named. */
async function fetchSdl(subgraph: GatewayConfig["subgraphs"][number], issuer: TokenIssuer): Promise<string> {
  const where = `subgraph '${subgraph.name}' (${subgraph.url})`;
  let body: { data?: { _service?: { sdl?: string } }; errors?: { message: string }[] };
  try {
    const res = await fetch(subgraph.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await issuer.sign(GATEWAY_SUBJECT, subgraph.audience)}` },
      body: JSON.stringify({ query: "{ _service { sdl } }" }),
    });
    body = (await res.json()) as typeof body;
  } catch (e) {
    throw new Error(`${where}: could not fetch its SDL: ${(e as Error).message}`);
  }
  const sdl = body.data?._service?.sdl;
  if (!sdl) throw new Error(`${where}: expected { _service { sdl } }, got errors: ${(body.errors ?? []).map((e) => e.message).join("; ") || "none, and no SDL"}`);
  if (!new RegExp(`^\\s+${subgraph.name}: HubQuery!`, "m").test(sdl)) {
    throw new Error(`${where}: its namespace field is not '${subgraph.name}': set METAMERS_HUB_NAME=${subgraph.name} on that hub, or rename it here`);
  }
  return sdl;
}

/** Composes the hubs' SDLs with @apollo/composition; any error stops the gateway with every message. */
export async function composeSupergraph(config: GatewayConfig, issuer: TokenIssuer): Promise<{ supergraphSdl: string; hints: string[] }> {
  const sdls = await Promise.all(config.subgraphs.map((s) => fetchSdl(s, issuer)));
  const result = composeServices(config.subgraphs.map((s, i) => ({ name: s.name, url: s.url, typeDefs: parse(sdls[i]) })));
  if (result.errors) {
    throw new Error(`the subgraphs do not compose into a supergraph:\n  ${result.errors.map((e) => e.message).join("\n  ")}`);
  }
  return { supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => h.toString()) };
}

/** Starts the gateway: fetches and composes the subgraphs, then serves GraphQL for the configured users. */
export async function startGateway(config: GatewayConfig, options: { clock?: Clock } = {}): Promise<Gateway> {
  const issuer = new TokenIssuer(config, options.clock);
  const { supergraphSdl, hints } = await composeSupergraph(config, issuer);
  const audiences = new Map(config.subgraphs.map((s) => [s.name, s.audience]));
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new PartnerDataSource(url!, audiences.get(name) ?? name, issuer),
  });
  // Each hub applies its own limits to what reaches it; these keep one request from costing the gateway itself much
  // (parsing and planning): the hubs' defaults, plus one level for the hub's namespace field.
  const server = new ApolloServer<GatewayContext>({
    gateway,
    includeStacktraceInErrorResponses: false,
    parseOptions: { maxTokens: 10_000 },
    validationRules: [depthLimit(11)],
  });
  await server.start();
  const contextFor = async (authorization: string | undefined): Promise<GatewayContext> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const user = match ? findUser(config, match[1]) : null;
    if (!user) {
      throw new GraphQLError(match ? "invalid consortium API key" : "missing consortium API key: send the header 'Authorization: Bearer <key>'", {
        extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
      });
    }
    return { user };
  };
  const http = createGatewayHttp(server, contextFor, () => issuer.jwks());
  let base: string;
  try {
    base = await http.listen(config.port, config.host);
  } catch (e) {
    await server.stop();
    throw new Error(`could not listen on ${config.host}:${config.port}: ${(e as Error).message}`);
  }
  return {
    url: `${base}/graphql`,
    jwksUrl: `${base}/.well-known/jwks.json`,
    supergraphSdl,
    hints,
    async close() {
      await new Promise<void>((resolve) => {
        http.server.close(() => resolve());
        http.server.closeAllConnections();
      });
      await server.stop();
    },
  };
}
