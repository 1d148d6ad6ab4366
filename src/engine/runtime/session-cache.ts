import { ForwardSession, GradientSession, type GradientOptions } from "./sessions.js";

/**
 * Keeps the last few engine sessions of a worker alive between jobs: consecutive jobs of a batch share a model
 * and stage, and rebuilding a gradient graph costs 25-180 ms. Least recently used entries are released. The model's
 * bytes come from the caller (`modelBytes`, read only on a miss): the cache knows no storage.
 */
export class EngineSessionCache {
  private readonly gradients = new Map<string, Promise<GradientSession>>();
  private readonly forwards = new Map<string, Promise<ForwardSession>>();

  /** `threads`: onnxruntime intra-op threads of every session this cache creates (the engine's default if unset). */
  constructor(
    private readonly capacity = 16,
    private readonly threads?: number,
  ) {}

  gradient(modelSha256: string, modelBytes: () => Promise<Uint8Array>, stage: string, options: GradientOptions): Promise<GradientSession> {
    const withThreads = { threads: this.threads, ...options };
    const key = `${modelSha256}|${stage}|${JSON.stringify(withThreads)}`;
    return this.take(this.gradients, key, async () => GradientSession.create(await modelBytes(), stage, withThreads));
  }

  forward(modelSha256: string, modelBytes: () => Promise<Uint8Array>, outputs: string[]): Promise<ForwardSession> {
    const key = `${modelSha256}|${outputs.join("\u0000")}`;
    return this.take(this.forwards, key, async () => ForwardSession.create(await modelBytes(), outputs, { threads: this.threads }));
  }

  async close(): Promise<void> {
    for (const map of [this.gradients, this.forwards] as Map<string, Promise<{ release(): Promise<void> }>>[]) {
      for (const p of map.values()) await p.then((s) => s.release(), () => undefined);
      map.clear();
    }
  }

  private take<T extends { release(): Promise<void> }>(map: Map<string, Promise<T>>, key: string, create: () => Promise<T>): Promise<T> {
    let p = map.get(key);
    if (p) {
      map.delete(key); // re-insert: Map order is the recency order
    } else {
      p = create();
      p.catch(() => map.delete(key));
    }
    map.set(key, p);
    while (map.size > this.capacity) {
      const [oldest, victim] = map.entries().next().value as [string, Promise<T>];
      map.delete(oldest);
      void victim.then((s) => s.release(), () => undefined);
    }
    return p;
  }
}
