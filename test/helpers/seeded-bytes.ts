// Reproducible file contents for the blob and upload tests: xorshift32 bytes from a seed, and their sha256.
import { createHash } from "node:crypto";

export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
