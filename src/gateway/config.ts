// The gateway's configuration file (`npm run gateway -- --config consortium.json`), checked with zod: a bad field
// names itself, what was expected and what arrived.
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const GRAPHQL_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const GatewayFileSchema = z.object({
  consortium: z.object({
    id: z.string().min(1).max(128),
    /** The tokens' `iss`; default: the consortium id (what hubs expect by default). */
    issuer: z.string().min(1).optional(),
  }),
  /** The consortium's private signing key: a PEM file (PKCS#8), relative to the config file. */
  privateKey: z.string().min(1),
  /** Its JWS algorithm (the hubs accept EdDSA, ES256, ES384, RS256, PS256). */
  algorithm: z.enum(["EdDSA", "ES256", "ES384", "RS256", "PS256"]).default("EdDSA"),
  /** Lifetime of a forwarded token: one request's worth. */
  tokenTtlSeconds: z.number().int().min(5).max(3600).default(60),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(4100),
  subgraphs: z
    .array(
      z.object({
        /** The hub's name in the consortium: its namespace field (METAMERS_HUB_NAME there). */
        name: z.string().regex(GRAPHQL_NAME, "expected the hub's METAMERS_HUB_NAME (a GraphQL name)"),
        /** Its GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
        url: z.string().url(),
        /** The audience its tokens carry (METAMERS_CONSORTIUM_AUDIENCE there); default: name. */
        audience: z.string().min(1).optional(),
      }),
    )
    .min(1),
  /** The gateway's users: people of the consortium's groups, each with an API key stored as its sha256 (hex). */
  users: z
    .array(
      z.object({
        subject: z.string().regex(/^[\x21-\x7e][\x20-\x7e]{0,127}$/, "expected 1 to 128 printable characters"),
        group: z.string().regex(/^[\x21-\x7e][\x20-\x7e]{0,127}$/, "expected 1 to 128 printable characters"),
        keySha256: z.string().regex(SHA256_HEX, "expected the sha256 of the key, 64 lower-case hex digits"),
      }),
    )
    .default([]),
});

export interface GatewayConfig {
  consortiumId: string;
  issuer: string;
  /** The private key's PEM text. */
  privateKeyPem: string;
  algorithm: z.infer<typeof GatewayFileSchema>["algorithm"];
  tokenTtlSeconds: number;
  host: string;
  port: number;
  subgraphs: { name: string; url: string; audience: string }[];
  users: { subject: string; group: string; keySha256: string }[];
}

/** Reads and checks a gateway configuration file; paths in it are relative to the file. */
export function loadGatewayConfig(file: string): GatewayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`gateway config ${file}: expected a readable JSON file: ${(e as Error).message}`);
  }
  return parseGatewayConfig(raw, path.dirname(path.resolve(file)), file);
}

export function parseGatewayConfig(raw: unknown, baseDir: string, where = "gateway config"): GatewayConfig {
  const parsed = GatewayFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`${where}: invalid:\n  ${problems.join("\n  ")}`);
  }
  const c = parsed.data;
  const names = c.subgraphs.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`${where}: subgraphs: expected distinct names, got '${dup}' twice`);
  const keyFile = path.resolve(baseDir, c.privateKey);
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyFile, "utf8");
  } catch (e) {
    throw new Error(`${where}: privateKey: expected a readable PEM file, could not read ${keyFile}: ${(e as Error).message}`);
  }
  return {
    consortiumId: c.consortium.id,
    issuer: c.consortium.issuer ?? c.consortium.id,
    privateKeyPem,
    algorithm: c.algorithm,
    tokenTtlSeconds: c.tokenTtlSeconds,
    host: c.host,
    port: c.port,
    subgraphs: c.subgraphs.map((s) => ({ name: s.name, url: s.url, audience: s.audience ?? s.name })),
    users: c.users,
  };
}
