/**
 * Per-caller token buckets, in memory (one server process; behind several replicas each enforces its own share).
 * Every caller (an API key, or a client address without a valid key) has a bucket of `burst` tokens refilled at
 * `perSecond`; a request takes one token, and a caller with an empty bucket is told when the next token arrives.
 * A request refused as invalid costs more (`charge`): parsing and validating it was the work, and a caller that
 * keeps sending queries the limits refuse (issue 10's hostile mix) would otherwise get that work 100 times a second.
 */
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  /** Milliseconds clock (injectable for tests). */
  now?: () => number;
  /** Most buckets kept; beyond that, the least recently used are dropped. */
  maxBuckets?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.options.perSecond > 0;
  }

  /** Takes a token for `key`: 0 when the request may go ahead, else the seconds to wait before retrying. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const now = this.now();
    const { perSecond, burst } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.delete(key); // re-insert: the map's order is then least recently used first
    this.buckets.set(key, bucket);
    this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / perSecond;
  }

  /**
   * Takes `tokens` more from `key`'s bucket after the fact (a refused request); the bucket may go below zero, down
   * to minus `burst`, so the caller waits that much longer before its next request.
   */
  charge(key: string, tokens: number): void {
    if (!this.enabled) return;
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.max(-this.options.burst, bucket.tokens - tokens);
  }

  /** Drops the least recently used buckets past `maxBuckets` (a dropped caller starts again with a full bucket). */
  private evict(): void {
    const max = this.options.maxBuckets ?? 100_000;
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= max) return;
      this.buckets.delete(key);
    }
  }
}
