import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { resolvers } from "./resolvers.js";

let built: Promise<GraphQLSchema> | undefined;

/**
 * The executable schema, built once per process (type-graphql metadata is global, and building is ~100 ms).
 * validate: true runs class-validator on inputs (type-graphql 2 does not by default: docs/stack.md G7).
 */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return (built ??= buildSchema({ resolvers, validate: { forbidUnknownValues: false }, emitSchemaFile: false }));
}
