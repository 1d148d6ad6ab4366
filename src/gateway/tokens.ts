// The partner tokens the gateway signs: one per forwarded request and subgraph (the audience is that hub), short-lived,
// carrying who the user is (subject), their group in the consortium, and the only role partners have.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, SignJWT, type JWK } from "jose";
import type { GatewayConfig } from "./config.js";

export type Clock = () => Date;

/** The person a request comes from, once their consortium API key is recognised. */
export interface GatewayUser {
  subject: string;
  group: string;
}

/** The group the gateway's own requests (loading subgraph SDL) are signed for; no lab shares anything with it. */
export const GATEWAY_SUBJECT: GatewayUser = { subject: "gateway", group: "_gateway" };

export class TokenIssuer {
  private readonly key: KeyObject;
  /** The public key as a JWK with its thumbprint as `kid` (tokens name it, so hubs can pick it from a JWKS). */
  private readonly publicJwk: Promise<JWK>;

  constructor(
    private readonly config: GatewayConfig,
    private readonly clock: Clock = () => new Date(),
  ) {
    try {
      this.key = createPrivateKey(config.privateKeyPem);
    } catch (e) {
      throw new Error(`privateKey: expected a PEM private key (PKCS#8), got one that does not load: ${(e as Error).message}`);
    }
    const jwk = createPublicKey(this.key).export({ format: "jwk" }) as JWK;
    this.publicJwk = calculateJwkThumbprint(jwk).then((kid) => ({ ...jwk, kid, alg: config.algorithm, use: "sig" }));
  }

  /** The JWKS hubs may verify the tokens with (served at /.well-known/jwks.json). */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [await this.publicJwk] };
  }

  /** A token for `user` at the hub whose audience is `audience`. */
  async sign(user: GatewayUser, audience: string): Promise<string> {
    const now = Math.floor(this.clock().getTime() / 1000);
    const { kid } = await this.publicJwk;
    return new SignJWT({ consortium: this.config.consortiumId, group: user.group, role: "READER" })
      .setProtectedHeader({ alg: this.config.algorithm, typ: "JWT", kid })
      .setIssuer(this.config.issuer)
      .setAudience(audience)
      .setSubject(user.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.tokenTtlSeconds)
      .sign(this.key);
  }
}

export const hashGatewayKey = (key: string): string => createHash("sha256").update(key).digest("hex");

/** The user whose key this is, or null. Keys are compared as sha256 hashes (the file holds only those). */
export function findUser(config: GatewayConfig, key: string): GatewayUser | null {
  const hash = hashGatewayKey(key);
  const user = config.users.find((u) => u.keySha256 === hash);
  return user ? { subject: user.subject, group: user.group } : null;
}
