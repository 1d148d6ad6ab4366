// The one GraphQL-over-HTTP client of the project: the CLI, the demo and lab scripts use it. Errors keep the API's
// public code (`extensions.code`) or a client-side one (UNREACHABLE, BAD_RESPONSE, UPLOAD_FAILED, DOWNLOAD_FAILED).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** The named GraphQL operation that failed (`query Name` / `mutation Name`), when there was one. */
    readonly operation?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type ErrorBody = { errors?: { message: string; extensions?: { code?: string } }[] };

/** The operation name of a GraphQL document (`query DemoCurve(...)` -> DemoCurve), for error reports. */
const operationName = (query: string): string | undefined => /\b(?:query|mutation)\s+(\w+)/.exec(query)?.[1];

export class MetamersClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string | undefined,
  ) {}

  private get auth(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const operation = operationName(query);
    let res: Response;
    try {
      res = await fetch(`${this.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.auth },
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      throw new ApiError(`cannot reach ${this.url} (${(e as Error).cause ?? (e as Error).message}); is the server running?`, "UNREACHABLE", operation);
    }
    const text = await res.text();
    let body: { data?: T | null } & ErrorBody;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(`unexpected response from ${this.url} (HTTP ${res.status}): ${text.slice(0, 200)}`, "BAD_RESPONSE", operation);
    }
    if (body.errors?.length) {
      const e = body.errors[0];
      throw new ApiError(e.message, e.extensions?.code ?? "ERROR", operation);
    }
    if (body.data == null) {
      throw new ApiError(`unexpected response from ${this.url} (HTTP ${res.status}): expected data or errors, got ${text.slice(0, 200)}`, "BAD_RESPONSE", operation);
    }
    return body.data;
  }

  /** True when a service answers `health` at the URL (no key needed); false when none does or it is not healthy. */
  async healthy(): Promise<boolean> {
    try {
      const data = await this.gql<{ health: { ok: boolean } }>("query Health { health { ok } }");
      return data.health.ok === true;
    } catch (e) {
      if (e instanceof ApiError) return false;
      throw e;
    }
  }

  /** GET a file of the caller's group: `/blobs/<sha256>` for a bare sha256, or any URL the API handed out. */
  async download(urlOrSha256: string): Promise<Buffer> {
    const url = /^[0-9a-f]{64}$/.test(urlOrSha256) ? `${this.url}/blobs/${urlOrSha256}` : urlOrSha256;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.auth });
    } catch (e) {
      throw new ApiError(`cannot reach ${url} (${(e as Error).cause ?? (e as Error).message}); is the server running?`, "UNREACHABLE");
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as ErrorBody;
      const e = body.errors?.[0];
      throw new ApiError(`download ${url}: ${e?.message ?? `HTTP ${res.status}`}`, e?.extensions?.code ?? "DOWNLOAD_FAILED");
    }
    return Buffer.from(await res.arrayBuffer());
  }

  /**
   * A file as either inline base64 (`data`) or, above `inlineLimit`, a completed two-step upload (`uploadId`):
   * createUpload, then PUT the file streamed from disk. `onBytes` is told the bytes sent so far (for a progress bar:
   * as the stream hands them to the request; an inline file all at once).
   */
  async fileInput(file: string, purpose: "MODEL" | "STIMULUS", inlineLimit = 16 * 1024 * 1024, onBytes?: (sent: number) => void): Promise<{ data?: string; uploadId?: string }> {
    const { size } = await stat(file);
    if (size <= inlineLimit) {
      const data = (await readFile(file)).toString("base64");
      onBytes?.(size);
      return { data };
    }
    const sha256 = await new Promise<string>((resolve, reject) => {
      const h = createHash("sha256");
      createReadStream(file).on("data", (c) => h.update(c)).on("end", () => resolve(h.digest("hex"))).on("error", reject);
    });
    const { createUpload } = await this.gql<{ createUpload: { id: string; url: string; headers: { name: string; value: string }[] } }>(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url headers { name value } } }`,
      { i: { purpose, byteSize: size, sha256 } },
    );
    // Exactly the headers the ticket asks for: the API's own URL wants the key, a presigned bucket URL (cloud mode)
    // must not get it (S3 refuses a second credential) but wants its signed checksum header.
    const headers: Record<string, string> = { "content-length": String(size) };
    for (const h of createUpload.headers) {
      if (h.name.toLowerCase() === "authorization") Object.assign(headers, this.auth);
      else headers[h.name.toLowerCase()] = h.value;
    }
    const res = await fetch(createUpload.url, {
      method: "PUT",
      headers,
      body: Readable.toWeb(countingStream(file, onBytes)) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as ErrorBody;
      throw new ApiError(body.errors?.[0]?.message ?? `upload failed with HTTP ${res.status}`, body.errors?.[0]?.extensions?.code ?? "UPLOAD_FAILED");
    }
    return { uploadId: createUpload.id };
  }
}

/** The file as a stream that reports the bytes passed on so far (backpressure keeps that close to the bytes sent). */
function countingStream(file: string, onBytes?: (sent: number) => void): Readable {
  const stream = createReadStream(file);
  if (!onBytes) return stream;
  let sent = 0;
  return stream.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onBytes(sent);
        done(null, chunk);
      },
    }),
  );
}
