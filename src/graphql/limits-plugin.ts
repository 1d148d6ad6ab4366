import type { ApolloServerPlugin, GraphQLRequestContext } from "@apollo/server";
import {
  GraphQLError,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValidationContext,
} from "graphql";
import depthLimit from "graphql-depth-limit";
import { getComplexity } from "graphql-query-complexity";
import type { ApiLimits } from "../config.js";
import { isAppError } from "../errors.js";
import { isAuthenticated } from "../services/authorization.js";
import { ARGUMENT_LIMITS, checkCount } from "../services/limits.js";
import type { GraphQLContext } from "./context.js";
import { costEstimator } from "./cost.js";

/**
 * What one GraphQL request may ask for. Before anything executes:
 * - parse: at most `maxQueryTokens` tokens (graphql-js parse option; Apollo's parseOptions);
 * - validation: depth (graphql-depth-limit; introspection fields do not count) and aliases;
 * - every Int argument and Int input field within its row of the limits table (services/limits.ts), and no
 *   argument or variable nested deeper than MAX_NESTING: BAD_USER_INPUT naming the argument;
 * - the query's cost (cost.ts, computed with the request's variables) at most `maxQueryCost`;
 * - introspection only for callers with a key, and no "Did you mean ...?" suggestions (which leak field names)
 *   for callers without one.
 */

/** Deepest nesting of objects/lists allowed in an argument or variable (stageLabels are flat; configs one level). */
export const MAX_NESTING = 32;

const badInput = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { ...extensions, code: "BAD_USER_INPUT", http: { status: 400 } } });
const refused = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { ...extensions, code: "GRAPHQL_VALIDATION_FAILED", http: { status: 400 } } });

export function queryValidationRules(limits: ApiLimits) {
  return [depthLimit(limits.maxQueryDepth), maxAliasesRule(limits.maxAliases)];
}

/** At most `max` aliased fields in the whole document (aliases multiply the work of one request). */
export function maxAliasesRule(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias && ++aliases === max + 1) {
          context.reportError(new GraphQLError(`query: at most ${max} aliased fields are allowed, got more than ${max}`, { nodes: [node] }));
        }
      },
    };
  };
}

/** Nesting depth of a JSON-like value (a scalar is 0, `{}` or `[]` is 1), stopping once past `limit`. */
export function nestingDepth(value: unknown, limit = MAX_NESTING): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (const child of Object.values(v as object)) if (child !== null && typeof child === "object") stack.push([child, d + 1]);
  }
  return deepest;
}

/**
 * Where a NUL character sits in an argument (a string, or a key or string inside a list/object), e.g.
 * `input.items[0].filename`; null when there is none. PostgreSQL text and jsonb cannot store NUL, so it is refused
 * here with the argument named rather than failing in the database.
 */
export function findNul(value: unknown, where: string): string | null {
  const stack: [unknown, string][] = [[value, where]];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return at;
    } else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (k.includes("\u0000")) return at;
        stack.push([child, Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`]);
      }
    }
  }
  return null;
}

/** Checks one field's coerced arguments against the limits table and the nesting limit. */
export function checkFieldArguments(typeName: string, field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): void {
  for (const arg of field.args) {
    const value = args[arg.name];
    if (value === undefined || value === null) continue;
    if (nestingDepth(value) > MAX_NESTING) {
      throw badInput(`${arg.name}: expected at most ${MAX_NESTING} levels of nesting, got more`, { argument: arg.name, maxNesting: MAX_NESTING });
    }
    const nul = findNul(value, arg.name);
    if (nul) throw badInput(`${nul}: expected text without NUL characters (U+0000), got one`, { argument: nul });
    checkValue(`${typeName}.${field.name}.${arg.name}`, arg.name, arg.type, value);
  }
}

function checkValue(coordinate: string, where: string, type: GraphQLInputType, value: unknown): void {
  if (value === null || value === undefined) return;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    if (Array.isArray(value)) value.forEach((v, i) => checkValue(coordinate, `${where}[${i}]`, inner.ofType, v));
    return;
  }
  if (isInputObjectType(inner)) {
    for (const f of Object.values(inner.getFields())) {
      checkValue(`${inner.name}.${f.name}`, `${where}.${f.name}`, f.type, (value as Record<string, unknown>)[f.name]);
    }
    return;
  }
  const limit = ARGUMENT_LIMITS[coordinate];
  if (limit) {
    try {
      checkCount(where, value, limit);
    } catch (e) {
      if (isAppError(e)) throw badInput(e.message, e.details);
      throw e;
    }
  }
}

/** True when the operation selects __schema or __type anywhere (__typename is fine). */
function usesIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === "__schema" || node.name.value === "__type") found = true;
    },
  });
  return found;
}

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Costs already computed, per parsed document and (operation, variables). Apollo hands the same DocumentNode to every
 * request with the same query text (its document cache), and the cost and argument checks depend only on the
 * document, the operation and the variables; recomputing them was about a tenth of the server's work per request
 * under load (issue 10). Only costs are kept (never errors, which Apollo may rewrite per caller), at most
 * VARIABLE_SETS per document, and a document's entries go when Apollo drops the document.
 */
class CostCache {
  private static readonly VARIABLE_SETS = 32;
  private readonly byDocument = new WeakMap<DocumentNode, Map<string, number>>();

  private static key(operationName: string | undefined, variables: Record<string, unknown>): string | null {
    const json = JSON.stringify(variables);
    return json.length > 2048 ? null : `${operationName ?? ""}\u0000${json}`;
  }

  get(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): number | undefined {
    const key = CostCache.key(operationName, variables);
    return key === null ? undefined : this.byDocument.get(document)?.get(key);
  }

  set(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>, cost: number): void {
    const key = CostCache.key(operationName, variables);
    if (key === null) return;
    let entries = this.byDocument.get(document);
    if (!entries) this.byDocument.set(document, (entries = new Map()));
    if (entries.size >= CostCache.VARIABLE_SETS) entries.delete(entries.keys().next().value!);
    entries.set(key, cost);
  }
}

export function queryLimitsPlugin(schema: GraphQLSchema, limits: ApiLimits): ApolloServerPlugin<GraphQLContext> {
  const costs = new CostCache();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc: GraphQLRequestContext<GraphQLContext>) {
          const caller = rc.contextValue.caller;
          const document = rc.document!;
          if (!isAuthenticated(caller) && usesIntrospection(document)) {
            throw refused("introspection (__schema, __type) needs an API key: send Authorization: Bearer <key>");
          }
          for (const [name, value] of Object.entries(rc.request.variables ?? {})) {
            if (nestingDepth(value) > MAX_NESTING) {
              throw badInput(`$${name}: expected at most ${MAX_NESTING} levels of nesting, got more`, { argument: name, maxNesting: MAX_NESTING });
            }
          }
          const operationName = rc.request.operationName ?? undefined;
          const variables = rc.request.variables ?? {};
          let cost = costs.get(document, operationName, variables);
          if (cost === undefined) {
            try {
              cost = getComplexity({
                schema,
                query: document,
                operationName,
                variables,
                estimators: [costEstimator(checkFieldArguments)],
                maxQueryNodes: 20_000,
              });
            } catch (e) {
              if (e instanceof GraphQLError && e.extensions.code) throw e;
              // Variable coercion problems and node-count overflows: the request's fault, said as it is.
              throw badInput(e instanceof Error ? e.message : String(e));
            }
            costs.set(document, operationName, variables, cost);
          }
          if (cost > limits.maxQueryCost) {
            throw refused(
              `query: costs ${cost}, more than the maximum of ${limits.maxQueryCost} per request ` +
                "(a page costs its size times its selection; a statistic costs resamples x 0.4 or permutations x 0.04); split it into several requests",
              { cost, maxCost: limits.maxQueryCost },
            );
          }
        },
        async didEncounterErrors(rc) {
          // "Did you mean ...?" names fields and types that exist: only callers with a key see suggestions.
          if (isAuthenticated(rc.contextValue.caller)) return;
          for (const error of rc.errors) (error as { message: string }).message = error.message.replace(SUGGESTION, "");
        },
      };
    },
  };
}
