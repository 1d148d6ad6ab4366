// The hub's schema as an Apollo Federation 2 subgraph (docs/architecture.md "Collaborating labs").
//
// The API schema built by type-graphql is printed, annotated and rebuilt with @apollo/subgraph, keeping type-graphql's
// own resolvers (createResolversMap), so validation, middleware and scalars behave exactly as on the plain schema.
// Annotations:
//  - entities get `@key` (./entities.ts) and a `__resolveReference` through the same service calls as their queries;
//  - every object type is `@shareable`: every hub of a consortium serves the same types, and Federation 2 refuses
//    to compose a field defined by several subgraphs unless it is shareable;
//  - one root field named after the hub (`labA: HubQuery!`, and `labA: HubMutation!`) namespaces it: HubQuery has
//    the fields of Query, with the same resolvers. Through a gateway, a query asks
//    `{ labA { models { ... } } labB { models { ... } } }`, and each part is answered by that hub alone (the field
//    exists only in its subgraph, and a shareable field is resolved where its parent was). The hub's own top-level
//    fields are `@inaccessible` in the supergraph, since a gateway could send them to any one of the hubs.
import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import {
  Kind,
  parse,
  printSchema,
  type ConstDirectiveNode,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
} from "graphql";
import { createResolversMap } from "type-graphql";
import { AppError } from "../../errors.js";
import { isAuthenticated } from "../../services/authorization.js";
import { checkCount } from "../../services/limits.js";
import type { GraphQLContext } from "../context.js";
import { ENTITIES } from "./entities.js";

export const FEDERATION_LINK = "https://specs.apollo.dev/federation/v2.3";

/** A GraphQL name that is not already a top-level field: the hub's namespace field. */
export const HUB_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

const directive = (name: string, args: Record<string, string> = {}): ConstDirectiveNode => ({
  kind: Kind.DIRECTIVE,
  name: { kind: Kind.NAME, value: name },
  arguments: Object.entries(args).map(([arg, value]) => ({
    kind: Kind.ARGUMENT,
    name: { kind: Kind.NAME, value: arg },
    value: { kind: Kind.STRING, value },
  })),
});

/** Root type -> the namespace type with its fields (the cost and count tables treat both alike: src/graphql/cost.ts). */
export const NAMESPACE_TYPES: Record<string, string> = { Query: "HubQuery", Mutation: "HubMutation" };

const named = (name: string) => ({ kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: name } }) as const;

/** The annotated type, and for a root type also its namespace type. */
function annotate(def: ObjectTypeDefinitionNode, hubName: string): ObjectTypeDefinitionNode[] {
  const entity = ENTITIES[def.name.value];
  const directives = [...(def.directives ?? []), directive("shareable"), ...(entity ? [directive("key", { fields: entity.key })] : [])];
  const namespace = NAMESPACE_TYPES[def.name.value];
  if (!namespace) return [{ ...def, directives }];
  const hidden: FieldDefinitionNode[] = (def.fields ?? []).map((f) => ({ ...f, directives: [...(f.directives ?? []), directive("inaccessible")] }));
  const entry: FieldDefinitionNode = {
    kind: Kind.FIELD_DEFINITION,
    name: { kind: Kind.NAME, value: hubName },
    description: { kind: Kind.STRING, value: `This hub's ${def.name.value === "Query" ? "queries" : "mutations"} (through a consortium gateway: \`${hubName} { ... }\`)` },
    type: { kind: Kind.NON_NULL_TYPE, type: named(namespace) },
  };
  return [
    { ...def, directives, fields: [entry, ...hidden] },
    {
      kind: Kind.OBJECT_TYPE_DEFINITION,
      name: { kind: Kind.NAME, value: namespace },
      description: { kind: Kind.STRING, value: `The fields of ${def.name.value}, under this hub's name` },
      directives: [directive("shareable")],
      fields: def.fields,
    },
  ];
}

/** The subgraph SDL (as a document) of the API schema, for the hub called `hubName` in its consortium. */
export function subgraphTypeDefs(api: GraphQLSchema, hubName: string): DocumentNode {
  if (!HUB_NAME_PATTERN.test(hubName)) {
    throw new Error(`hub name: expected a GraphQL name (a letter, then letters, digits or _; at most 63), got ${JSON.stringify(hubName)}`);
  }
  for (const namespace of Object.values(NAMESPACE_TYPES)) {
    if (api.getType(namespace)) throw new Error(`the API already has a type named ${namespace}, the name of a federation namespace type`);
  }
  if (api.getQueryType()?.getFields()[hubName] || api.getMutationType()?.getFields()[hubName]) {
    throw new Error(`hub name: '${hubName}' is already a top-level field of the API; choose another name`);
  }
  const doc = parse(printSchema(api));
  const link: DefinitionNode = parse(
    `extend schema @link(url: "${FEDERATION_LINK}", import: ["@key", "@shareable", "@inaccessible"])`,
  ).definitions[0];
  const definitions = doc.definitions.flatMap((d): DefinitionNode[] => (d.kind === Kind.OBJECT_TYPE_DEFINITION ? annotate(d, hubName) : [d]));
  return { ...doc, definitions: [link, ...definitions] };
}

/** The executable subgraph schema: type-graphql's resolvers, the namespace field and the entities' reference resolvers. */
export function buildSubgraph(api: GraphQLSchema, hubName: string): GraphQLSchema {
  // createResolversMap's type is loose (any resolver shape); the entries added here are plain field resolvers.
  const resolvers = createResolversMap(api) as Record<string, Record<string, unknown>>;
  for (const [root, namespace] of Object.entries(NAMESPACE_TYPES)) {
    // type-graphql's root resolvers ignore their parent value, so they answer under the namespace field unchanged.
    resolvers[namespace] = { ...resolvers[root] };
    resolvers[root] = { ...resolvers[root], [hubName]: () => ({}) };
  }
  for (const [typeName, entity] of Object.entries(ENTITIES)) {
    resolvers[typeName] = {
      ...resolvers[typeName],
      __resolveReference: (ref: Record<string, unknown>, ctx: GraphQLContext) => entity.resolveReference(ref, ctx),
    };
  }
  const schema = buildSubgraphSchema({ typeDefs: subgraphTypeDefs(api, hubName), resolvers: resolvers as never });
  guardFederationFields(schema);
  return schema;
}

/**
 * `_service` is the schema (as introspection is, it needs a key or a partner token: src/graphql/limits-plugin.ts);
 * `_entities` takes a list, bounded like every count of the API (src/services/limits.ts).
 */
function guardFederationFields(schema: GraphQLSchema): void {
  const fields = schema.getQueryType()!.getFields();
  const service = fields._service;
  const sdl = service.resolve!;
  service.resolve = (root, args, ctx: GraphQLContext, info) => {
    if (!isAuthenticated(ctx.caller)) {
      throw new AppError("UNAUTHENTICATED", `_service (the subgraph SDL) needs an API key or a partner token: ${ctx.caller.reason}`);
    }
    return sdl(root, args, ctx, info);
  };
  const entities = fields._entities;
  const resolve = entities.resolve!;
  entities.resolve = (root, args: { representations: unknown[] }, ctx, info) => {
    checkCount("representations", args.representations.length, "entityRepresentations");
    return resolve(root, args, ctx, info);
  };
}

/** The SDL a gateway composes (what `_service { sdl }` answers). */
export const printSubgraphSdl = (subgraph: GraphQLSchema): string => printSubgraphSchema(subgraph);
