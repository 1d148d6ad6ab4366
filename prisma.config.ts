import { defineConfig } from "prisma/config";

// Prisma 7 reads the datasource URL from here. Migrations are applied by scripts/migrate.mjs (wasm schema engine),
// so the URL is only needed when the native Prisma CLI is used directly.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/metamers" },
});
