// `npm run gateway -- --config consortium.json`: the consortium gateway (README "Collaborating labs").
// `npm run gateway -- --new-user <subject> --group <group>`: a new consortium API key and the line for `users`.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadGatewayConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { hashGatewayKey } from "./tokens.js";

const USAGE = `usage: npm run gateway -- --config consortium.json
       npm run gateway -- --new-user <subject> --group <group>   (prints a key and its entry for "users")`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { config: { type: "string" }, "new-user": { type: "string" }, group: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values["new-user"]) {
    if (!values.group) throw new Error(`--group: expected the user's group in the consortium, got none\n${USAGE}`);
    const key = `mgk_${randomBytes(30).toString("base64url")}`;
    console.log(`key (give it to ${values["new-user"]}; it is shown once): ${key}`);
    console.log(JSON.stringify({ subject: values["new-user"], group: values.group, keySha256: hashGatewayKey(key) }));
    return 0;
  }
  if (!values.config) throw new Error(`--config: expected the gateway's configuration file, got none\n${USAGE}`);
  const config = loadGatewayConfig(path.resolve(values.config));
  const gateway = await startGateway(config);
  for (const hint of gateway.hints) console.warn(`composition hint: ${hint}`);
  console.log(
    JSON.stringify({
      msg: "gateway listening",
      url: gateway.url,
      jwks: gateway.jwksUrl,
      consortium: config.consortiumId,
      subgraphs: config.subgraphs.map((s) => `${s.name}=${s.url}`),
    }),
  );
  const stop = () => void gateway.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    console.error(`gateway: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
