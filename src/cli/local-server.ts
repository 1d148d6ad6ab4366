// Which server a client talks to and with which key: the one lookup shared by the CLI and the demo.
// URL: --url, then METAMERS_URL, then $METAMERS_DATA_DIR/server.json (written by `npm start` while it serves),
// then http://127.0.0.1:4000. Key: --key, then METAMERS_API_KEY, then $METAMERS_DATA_DIR/api-key (written on the
// first `npm start`).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { CliEnvironment } from "../config.js";
import { ApiError } from "./client.js";

/** File names in the data dir; src/main.ts writes them under the same names. */
export const SERVER_FILE = "server.json";
export const API_KEY_FILE = "api-key";
export const DEFAULT_SERVER_URL = "http://127.0.0.1:4000";

/** What `npm start` writes to server.json while it serves. */
export interface LocalServerFile {
  url: string;
  pid?: number;
}

/** A base URL without trailing slashes or a trailing /graphql, as the client appends `/graphql` itself. */
export function normalizeServerUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/graphql$/, "");
}

/** The data dir's server.json, or undefined when there is none (no local server running). */
export function readServerFile(dataDir: string): LocalServerFile | undefined {
  const file = path.join(dataDir, SERVER_FILE);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const url = (parsed as { url?: unknown } | undefined)?.url;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    throw new ApiError(
      `${file}: expected JSON like {"url":"http://127.0.0.1:4000","pid":123} (written by npm start), got ${JSON.stringify(text.slice(0, 100))}; ` +
        "delete the file or pass --url",
      "BAD_LOCAL_CONFIG",
    );
  }
  const pid = (parsed as { pid?: unknown }).pid;
  return { url, pid: typeof pid === "number" ? pid : undefined };
}

/** The data dir's api-key, or undefined when there is none (or it is empty). */
export function readLocalKey(dataDir: string): string | undefined {
  const file = path.join(dataDir, API_KEY_FILE);
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

export function resolveServer(
  env: Pick<CliEnvironment, "url" | "apiKey" | "dataDir">,
  flags: { url?: string; key?: string },
): { url: string; key?: string } {
  // The data dir is read only for what flags and environment leave open: a broken server.json cannot get in the way
  // of an explicit --url.
  const url = flags.url ?? env.url ?? readServerFile(env.dataDir)?.url ?? DEFAULT_SERVER_URL;
  return { url: normalizeServerUrl(url), key: flags.key ?? env.apiKey ?? readLocalKey(env.dataDir) };
}
