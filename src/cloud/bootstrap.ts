// The deploy-time bootstrap of a cloud hub: the first instance-admin key, kept only in Secrets Manager. The cloud's
// counterpart of `npm start`'s first-start group and key file (src/main.ts); run by the migration function after the
// migrations, on every deploy, so it must be idempotent.
import type { AuthService } from "../services/auth.js";
import type { Store } from "../store/store.js";

/** The group the bootstrap creates on an empty database (its first key is an instance-admin key: it creates groups). */
export const INSTANCE_ADMIN_GROUP = "admin";
const KEY_NAME = "instance admin (deploy bootstrap)";

/** Where the key goes: read and written by the caller (Secrets Manager in the cloud, a map in tests). */
export interface KeySecret {
  read(): Promise<string | null>;
  write(key: string): Promise<void>;
}

/** What the bootstrap did; deliberately without the key, so it can be logged and returned to CloudFormation. */
export interface BootstrapResult {
  /** `kept`: the secret already holds a working ADMIN key; `created`: a new group and key; `reissued`: a new key for the existing first group. */
  action: "kept" | "created" | "reissued";
  groupId: string;
  keyPrefix: string;
}

/**
 * Makes sure the secret holds a working instance-admin key (`ApiKey.instanceAdmin`, an ADMIN key of the first group). A
 * key that still authenticates as one is kept (a redeploy changes nothing). An empty database gets the group `admin` and a key; a database that has groups but whose
 * secret holds no working key (a first deploy whose secret write failed, a revoked key, CDK's random placeholder) gets
 * a new instance-admin key for its first group. When writing the secret fails, the new key is revoked before the error goes on,
 * so no key exists that nobody can read.
 */
export async function bootstrapInstanceAdmin(deps: { store: Store; auth: AuthService; secret: KeySecret }): Promise<BootstrapResult> {
  const { store, auth, secret } = deps;
  const firstGroup = await store.groups.firstGroupId();
  const current = await secret.read();
  if (current && firstGroup) {
    const caller = await auth.authenticate(`Bearer ${current}`);
    if ("apiKeyId" in caller && caller.role === "ADMIN" && caller.instanceAdmin) {
      return { action: "kept", groupId: caller.groupId, keyPrefix: current.slice(0, 12) };
    }
  }
  // The deploy is the hub operator: it acts as an instance admin of the first group (trusted, like `npm start`).
  const operator = (groupId: string) => ({ groupId, role: "ADMIN" as const, apiKeyId: "deploy-bootstrap", instanceAdmin: true });
  const issued = firstGroup
    ? await auth.createApiKey(operator(firstGroup), KEY_NAME, "ADMIN", { instanceAdmin: true })
    : await auth.createGroupWithKey(INSTANCE_ADMIN_GROUP, "ADMIN", KEY_NAME);
  try {
    await secret.write(issued.key);
  } catch (e) {
    await auth.revokeApiKey(operator(issued.groupId), issued.id);
    throw e;
  }
  return { action: firstGroup ? "reissued" : "created", groupId: issued.groupId, keyPrefix: issued.prefix };
}
