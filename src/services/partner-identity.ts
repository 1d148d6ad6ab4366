// Partner identity: a person of another lab, vouched for by their consortium's gateway with a signed token (JWT),
// becomes a PartnerContext here. Signed identity instead of shared API keys: the hub holds only the consortium's
// public key, so nothing it stores can be replayed elsewhere, and the gateway never holds a hub's keys.
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { ConsortiumConfig } from "../config.js";
import { anonymous, systemClock, type AnonymousCaller, type Clock, type PartnerContext } from "./authorization.js";

/** Asymmetric algorithms only: a hub holds a public key, never a secret it could also sign with. */
export const PARTNER_TOKEN_ALGORITHMS = ["EdDSA", "ES256", "ES384", "RS256", "PS256"];

/** The claims a partner token carries besides iss/aud/exp/sub (what the gateway in src/gateway signs). */
export interface PartnerClaims {
  consortium: string;
  group: string;
  role: "READER";
}

/** A compact JWS: three base64url parts, the header a JSON object ("eyJ" = base64 of `{"`). API keys start with mhk_. */
const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
export const looksLikePartnerToken = (bearer: string): boolean => JWT.test(bearer);

/** Strings a partner names itself with: a group or subject of at most 128 printable characters. */
const NAME = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

export class PartnerIdentityService {
  private readonly key: KeyObject | JWTVerifyGetKey | null;

  constructor(
    private readonly consortium: ConsortiumConfig | undefined,
    private readonly clock: Clock = systemClock,
  ) {
    this.key = consortium ? loadKey(consortium) : null;
  }

  /**
   * The partner a bearer token stands for, or an anonymous caller saying why it is refused (never throws): a hub
   * without a consortium, a token of another consortium, a bad signature, an expired token, a wrong issuer or
   * audience, missing claims.
   */
  async authenticate(token: string): Promise<PartnerContext | AnonymousCaller> {
    const c = this.consortium;
    if (!c || !this.key) {
      return anonymous("partner token refused: this hub is not configured for any consortium (METAMERS_CONSORTIUM_ID and its public key are unset)");
    }
    let claimed: JWTPayload;
    try {
      claimed = decodeJwt(token);
    } catch {
      return anonymous("partner token refused: malformed JWT (expected header.payload.signature, base64url JSON)");
    }
    // Said before the signature is checked, so a token meant for another consortium is named as such.
    if (claimed.consortium !== c.id) {
      return anonymous(`partner token refused: it is for consortium ${JSON.stringify(claimed.consortium ?? null)}; this hub accepts consortium '${c.id}' only`);
    }
    const at = this.clock();
    let payload: JWTPayload;
    try {
      const options = {
        issuer: c.issuer,
        audience: c.audience,
        currentDate: at,
        algorithms: PARTNER_TOKEN_ALGORITHMS,
        requiredClaims: ["exp", "sub", "consortium", "group", "role"],
      };
      payload =
        typeof this.key === "function" ? (await jwtVerify(token, this.key, options)).payload : (await jwtVerify(token, this.key, options)).payload;
    } catch (e) {
      return anonymous(`partner token refused: ${refusal(e, c, at)}`);
    }
    if (payload.role !== "READER") {
      return anonymous(`partner token refused: claim 'role': expected "READER" (partners only read), got ${JSON.stringify(payload.role)}`);
    }
    for (const claim of ["group", "sub"] as const) {
      const value = payload[claim];
      if (typeof value !== "string" || !NAME.test(value)) {
        return anonymous(`partner token refused: claim '${claim}': expected 1 to 128 printable characters, got ${JSON.stringify(value).slice(0, 140)}`);
      }
    }
    return { partner: true, consortiumId: c.id, partnerGroup: payload.group as string, role: "READER", subject: payload.sub!, at };
  }
}

/** The consortium's verification key from a PEM file or a JWKS (file or URL); a bad file stops the hub at start. */
function loadKey(c: ConsortiumConfig): KeyObject | JWTVerifyGetKey {
  if (c.publicKeyFile) {
    try {
      return createPublicKey(readFileSync(c.publicKeyFile, "utf8"));
    } catch (e) {
      throw new Error(`METAMERS_CONSORTIUM_PUBLIC_KEY: expected a PEM public key file, could not use ${c.publicKeyFile}: ${(e as Error).message}`);
    }
  }
  const jwks = c.jwks!;
  if (/^https?:\/\//.test(jwks)) return createRemoteJWKSet(new URL(jwks));
  try {
    return createLocalJWKSet(JSON.parse(readFileSync(jwks, "utf8")));
  } catch (e) {
    throw new Error(`METAMERS_CONSORTIUM_JWKS: expected a JWKS JSON file ({ "keys": [...] }), could not use ${jwks}: ${(e as Error).message}`);
  }
}

/** What was wrong with a token, in words (jose's errors, named for a person reading the refusal). */
function refusal(e: unknown, c: ConsortiumConfig, at: Date): string {
  if (e instanceof errors.JWTExpired) {
    const exp = typeof e.payload.exp === "number" ? new Date(e.payload.exp * 1000).toISOString() : "?";
    return `expired at ${exp} (hub time ${at.toISOString()})`;
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return `signature does not verify with the public key of consortium '${c.id}'`;
  if (e instanceof errors.JWKSNoMatchingKey) return `no key of consortium '${c.id}' (its JWKS) matches the token's header (kid/alg)`;
  if (e instanceof errors.JWTClaimValidationFailed) {
    const expected = e.claim === "iss" ? ` (expected '${c.issuer}')` : e.claim === "aud" ? ` (expected '${c.audience}')` : "";
    return `claim '${e.claim}' ${e.reason}${expected}: ${e.message}`;
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return `algorithm not allowed (expected one of ${PARTNER_TOKEN_ALGORITHMS.join(", ")})`;
  if (e instanceof errors.JOSEError) return `${e.code}: ${e.message}`;
  return `could not be verified: ${e instanceof Error ? e.message : String(e)}`;
}
