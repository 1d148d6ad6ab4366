import { Field, Int, ObjectType, type ClassType } from "type-graphql";
import type { Page } from "../services/views.js";

@ObjectType({ description: "Relay page information" })
export class PageInfo {
  @Field() hasNextPage: boolean;
  @Field() hasPreviousPage: boolean;
  @Field(() => String, { nullable: true }) startCursor: string | null;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * Relay connection types for a node class: `const ModelConnection = ConnectionType(ModelType, "Model")` gives
 * `ModelConnection { edges: [ModelEdge!]! pageInfo: PageInfo! totalCount: Int! }`; use it as `@Query(() => ModelConnection)`.
 * Call it once per node type (at module level), since each call registers two GraphQL types.
 */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field() cursor: string;
    @Field(() => node as ClassType) node: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType]) edges: Edge<T>[];
    @Field(() => PageInfo) pageInfo: PageInfo;
    @Field(() => Int) totalCount: number;
  }
  return ConnectionClass;
}

/** A store page as a Relay connection; `toNode` maps records to the GraphQL node objects. */
export function toConnection<R, T>(page: Page<R>, toNode: (r: R) => T, hadCursor: boolean): Connection<T> {
  const edges = page.items.map((item, i) => ({ cursor: page.cursors[i], node: toNode(item) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: page.totalCount,
  };
}
