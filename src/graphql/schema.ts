import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { buildSubgraph } from "./federation/subgraph.js";
import { resolvers } from "./resolvers.js";

/** The hub's name in a consortium when none is configured (METAMERS_HUB_NAME); also the one subgraph.graphql shows. */
export const DEFAULT_HUB_NAME = "hub";

let api: Promise<GraphQLSchema> | undefined;
const served = new Map<string, Promise<GraphQLSchema>>();

/**
 * The API schema (what schema.graphql prints), built once per process (type-graphql metadata is global, and building
 * is ~100 ms). validate: true runs class-validator on inputs (type-graphql 2 does not by default: docs/stack.md G7).
 */
export function buildApiSchema(): Promise<GraphQLSchema> {
  return (api ??= buildSchema({ resolvers, validate: { forbidUnknownValues: false }, emitSchemaFile: false }));
}

/**
 * The executable schema the hub serves: the API schema as a Federation 2 subgraph (src/graphql/federation), whose
 * namespace field is the hub's name in its consortium. Built once per name (tests run two hubs in one process).
 */
export function buildAppSchema(hubName: string = DEFAULT_HUB_NAME): Promise<GraphQLSchema> {
  let schema = served.get(hubName);
  if (!schema) {
    schema = buildApiSchema().then((s) => buildSubgraph(s, hubName));
    served.set(hubName, schema);
  }
  return schema;
}
