// A minimal GraphQL-over-HTTP client for the demo (the same calls a lab script makes): errors keep their public code.

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly operation: string,
  ) {
    super(message);
    this.name = "GraphQLRequestError";
  }
}

export class GraphQLClient {
  constructor(
    /** Base URL of the service, e.g. http://127.0.0.1:4000 (GraphQL at /graphql). */
    readonly baseUrl: string,
    private readonly apiKey: string | null,
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const operation = /(query|mutation)\s+(\w+)/.exec(query)?.[2] ?? "anonymous";
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...this.headers() },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new GraphQLRequestError(`${operation}: expected a JSON GraphQL response, got HTTP ${response.status}: ${text.slice(0, 200)}`, undefined, operation);
    }
    if (body.errors?.length) {
      const first = body.errors[0];
      throw new GraphQLRequestError(
        `${operation}: ${body.errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; ")}`,
        first.extensions?.code,
        operation,
      );
    }
    if (!body.data) throw new GraphQLRequestError(`${operation}: response has neither data nor errors`, undefined, operation);
    return body.data;
  }

  /** GET /blobs/<sha256> (or any service URL) with the key. */
  async download(urlOrSha: string): Promise<Buffer> {
    const url = /^[0-9a-f]{64}$/.test(urlOrSha) ? `${this.baseUrl}/blobs/${urlOrSha}` : urlOrSha;
    const response = await fetch(url, { headers: this.headers() });
    if (!response.ok) throw new Error(`download ${url}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }

  /** True when a service answers `health` at the base URL. */
  async healthy(): Promise<boolean> {
    try {
      const data = await this.request<{ health: { ok: boolean } }>("query Health { health { ok } }");
      return data.health.ok;
    } catch {
      return false;
    }
  }
}
