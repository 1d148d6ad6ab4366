// startTestApp(): the whole service (real HTTP, real GraphQL, real PostgreSQL) on a private test database.
import { createApp, type App, type AppDeps } from "../../src/app.js";
import { defaultConfig, type AppConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import type { Role } from "../../src/services/authorization.js";
import type { Services } from "../../src/services/index.js";
import type { Store } from "../../src/store/store.js";
import type { PgConfig } from "../../src/store/pg-config.js";
import { createTestDatabase } from "./db.js";

export interface GqlResult<T = any> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }[];
  /** HTTP status of the response */
  status: number;
}

export interface TestApp {
  /** Base URL, e.g. http://127.0.0.1:39123 (GraphQL at `${url}/graphql`) */
  url: string;
  store: Store;
  /** Connection settings of the test database (for worker processes). */
  database: PgConfig;
  services: Services;
  app: App;
  /** A new group with one key of the given role. */
  createGroupWithKey(name: string, role?: Role): Promise<{ groupId: string; key: string }>;
  /** POSTs a GraphQL operation; `key` becomes `Authorization: Bearer <key>` when given. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string): Promise<GqlResult<T>>;
  /** Stops the server and drops the database. */
  close(): Promise<void>;
}

export async function startTestApp(
  options: { config?: Partial<AppConfig>; routes?: AppDeps["routes"]; log?: AppDeps["log"]; clock?: AppDeps["clock"] } = {},
): Promise<TestApp> {
  const db = await createTestDatabase({ blobChunkBytes: options.config?.blobChunkBytes, s3: options.config?.s3 });
  const config = defaultConfig({ port: 0, logLevel: "silent", ...options.config });
  const app = await createApp(config, { store: db.store, log: options.log ?? createLogger("silent"), routes: options.routes, clock: options.clock });
  const url = await app.listen(0, "127.0.0.1");
  return {
    url,
    store: db.store,
    database: db.config,
    services: app.services,
    app,
    async createGroupWithKey(name, role = "ADMIN") {
      const issued = await app.services.auth.createGroupWithKey(name, role);
      return { groupId: issued.groupId, key: issued.key };
    },
    async gql(query, variables, key) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`GraphQL response was not JSON (HTTP ${res.status}): ${text.slice(0, 300)}`);
      }
      return { ...body, status: res.status };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
