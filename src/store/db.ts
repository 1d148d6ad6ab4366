import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { PgConfig } from "./pg-config.js";

/** The generated Prisma client. Only modules under src/store may use it (architecture.md). */
export type Db = PrismaClient;
/** What a store method receives inside `store.transaction(...)`: the same API, bound to one transaction. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];
/** Either the client or a transaction: store functions take this so they compose inside transactions. */
export type DbOrTx = Db | Tx;

export function createPrismaClient(config: PgConfig, poolSize = 10): Db {
  return new PrismaClient({ adapter: new PrismaPg({ ...config, max: poolSize }) });
}

export { Prisma } from "../generated/prisma/client.js";
export * as Enums from "../generated/prisma/enums.js";

