/**
 * Discrete connection settings. Prisma's pg adapter is given these rather than a URL, because with a connection
 * string node-postgres lets the string override `database` (docs/stack.md G17).
 */
export interface PgConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Parses postgres://user:pass@host:port/db into discrete settings. */
export function pgConfigFromUrl(url: string): PgConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`DATABASE_URL: expected postgres://user:password@host:port/database, got an unparsable value`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error(`DATABASE_URL: expected the postgres:// or postgresql:// scheme, got '${u.protocol}'`);
  }
  return {
    host: decodeURIComponent(u.hostname) || "127.0.0.1",
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres",
  };
}
