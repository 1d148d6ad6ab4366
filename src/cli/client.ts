// A small GraphQL-over-HTTP client for the CLI and lab scripts.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class MetamersClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string | undefined,
  ) {}

  private get auth(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.auth },
        body: JSON.stringify({ query, variables }),
      });
    } catch (e) {
      throw new ApiError(`cannot reach ${this.url} (${(e as Error).cause ?? (e as Error).message}); is the server running?`, "UNREACHABLE");
    }
    const text = await res.text();
    let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(`unexpected response from ${this.url} (HTTP ${res.status}): ${text.slice(0, 200)}`, "BAD_RESPONSE");
    }
    if (body.errors?.length) {
      const e = body.errors[0];
      throw new ApiError(e.message, e.extensions?.code ?? "ERROR");
    }
    return body.data as T;
  }

  /**
   * A file as either inline base64 (`data`) or, above `inlineLimit`, a completed two-step upload (`uploadId`):
   * createUpload, then PUT the file streamed from disk.
   */
  async fileInput(file: string, purpose: "MODEL" | "STIMULUS", inlineLimit = 16 * 1024 * 1024): Promise<{ data?: string; uploadId?: string }> {
    const { size } = await stat(file);
    if (size <= inlineLimit) return { data: (await readFile(file)).toString("base64") };
    const sha256 = await new Promise<string>((resolve, reject) => {
      const h = createHash("sha256");
      createReadStream(file).on("data", (c) => h.update(c)).on("end", () => resolve(h.digest("hex"))).on("error", reject);
    });
    const { createUpload } = await this.gql<{ createUpload: { id: string; url: string } }>(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url } }`,
      { i: { purpose, byteSize: size, sha256 } },
    );
    const res = await fetch(createUpload.url, {
      method: "PUT",
      headers: { ...this.auth, "content-type": "application/octet-stream", "content-length": String(size) },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { errors?: { message: string; extensions?: { code?: string } }[] };
      throw new ApiError(body.errors?.[0]?.message ?? `upload failed with HTTP ${res.status}`, body.errors?.[0]?.extensions?.code ?? "UPLOAD_FAILED");
    }
    return { uploadId: createUpload.id };
  }
}
