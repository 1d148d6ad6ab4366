// Test keys and tokens of a consortium: an Ed25519 key pair written as PEM files (what hubs and the gateway read),
// and partner tokens signed the way the gateway signs them (src/gateway/tokens.ts), with any claim overridden.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";

export interface TestKeys {
  dir: string;
  privateKey: KeyObject;
  /** The PEM files. */
  privateKeyFile: string;
  publicKeyFile: string;
  /** The public key as a JWKS file. */
  jwksFile: string;
}

export function makeKeys(name = "consortium"): TestKeys {
  const dir = mkdtempSync(path.join(os.tmpdir(), `metamers-${name}-`));
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const privateKeyFile = path.join(dir, `${name}.key`);
  const publicKeyFile = path.join(dir, `${name}.pub`);
  const jwksFile = path.join(dir, `${name}.jwks.json`);
  writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), alg: "EdDSA", kid: name, use: "sig" }] }));
  return { dir, privateKey, privateKeyFile, publicKeyFile, jwksFile };
}

export interface TokenClaims {
  consortium?: string;
  group?: string;
  role?: string;
  sub?: string;
  iss?: string;
  aud?: string;
  /** Seconds since the epoch. */
  iat?: number;
  exp?: number;
  kid?: string;
}

/** A partner token signed with `key`: consortium "neuro", group "lab-b", READER, valid for a minute from `now`. */
export function partnerToken(key: KeyObject, audience: string, claims: TokenClaims = {}, now = new Date()): Promise<string> {
  const t = Math.floor(now.getTime() / 1000);
  const c = { consortium: "neuro", group: "lab-b", role: "READER", sub: "bob@lab-b", iss: "neuro", aud: audience, iat: t, exp: t + 60, ...claims };
  return new SignJWT({ consortium: c.consortium, group: c.group, role: c.role })
    .setProtectedHeader({ alg: "EdDSA", typ: "JWT", ...(c.kid ? { kid: c.kid } : {}) })
    .setIssuer(c.iss)
    .setAudience(c.aud)
    .setSubject(c.sub)
    .setIssuedAt(c.iat)
    .setExpirationTime(c.exp)
    .sign(key);
}
