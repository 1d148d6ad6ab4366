/**
 * Correlations on flattened activation vectors (validation) and on (model, stage) points (idiosyncrasy).
 *
 * Vectors reach ~10^6 elements, so every rank-based statistic here is O(n log n). Ties get average ranks
 * (Spearman) and the tau-b correction (Kendall), as scipy.stats does.
 *
 * Degenerate input (docs/science.md §3): when either vector sums to exactly 0 the correlation is defined as 0, as in
 * the paper's reference code (a dead layer gives an all-zero activation vector). A vector with zero variance that
 * does not sum to 0 has no defined correlation either; we return 0 for it too, so that verdicts never see NaN.
 */

export type Vector = ArrayLike<number>;

function checkPair(name: string, a: Vector, b: Vector): void {
  if (a.length !== b.length) {
    throw new RangeError(`${name}: vectors must have the same length, got ${a.length} and ${b.length}`);
  }
  for (const [label, v] of [["a", a], ["b", b]] as const) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        throw new RangeError(`${name}: ${label}[${i}] must be a finite number, got ${v[i]}`);
      }
    }
  }
}

function sum(v: Vector): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}

/** True when the zero-vector rule applies or the statistic is undefined (fewer than 2 elements). */
function degenerate(a: Vector, b: Vector): boolean {
  return a.length < 2 || sum(a) === 0 || sum(b) === 0;
}

/** Pearson's r. Accumulates in float64 with centred sums (two passes) to stay accurate at 10^6 elements. */
export function pearson(a: Vector, b: Vector): number {
  checkPair("pearson", a, b);
  if (degenerate(a, b)) return 0;
  return centredCorrelation(a, b);
}

function centredCorrelation(a: Vector, b: Vector): number {
  const n = a.length;
  const ma = sum(a) / n;
  const mb = sum(b) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return 0;
  const r = sab / Math.sqrt(saa * sbb);
  // Rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, r));
}

/** Spearman's rho: Pearson's r of the average ranks. */
export function spearman(a: Vector, b: Vector): number {
  checkPair("spearman", a, b);
  if (degenerate(a, b)) return 0;
  return centredCorrelation(rank(a), rank(b));
}

/**
 * The indices of `v` in ascending order of value (stable for equal values is not needed: ties are averaged).
 *
 * Fast path for float32 data (the activation case): each value maps to a 32-bit key whose unsigned order is the
 * numeric order; key * 2^21 + index is an exact integer below 2^53, so a plain numeric Float64Array sort (no
 * comparator callback, ~10x faster at 10^6 elements) sorts values and carries their indices along.
 */
export function argsort(v: Vector): Uint32Array {
  const n = v.length;
  const order = new Uint32Array(n);
  if (v instanceof Float32Array && n <= INDEX_SPAN) {
    const bits = new Uint32Array(v.buffer, v.byteOffset, n);
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const u = bits[i];
      // Negative floats: flip all bits; positive: flip the sign bit. -0 and +0 compare equal as numbers but get
      // different keys here, so they are merged back into one tie group by the callers' value comparison.
      const key = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      packed[i] = key * INDEX_SPAN + i;
    }
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i] % INDEX_SPAN;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => v[i] - v[j]);
  return order;
}
const INDEX_SPAN = 2 ** 21;

/** Average ranks (1-based), ties sharing the mean of the ranks they span. */
export function rank(v: Vector): Float64Array {
  const n = v.length;
  const order = argsort(v);
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && v[order[end]] === v[order[start]]) end++;
    const average = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = average;
    start = end;
  }
  return ranks;
}

/**
 * Kendall's tau-b in O(n log n) (Knight 1966, the algorithm scipy.stats.kendalltau uses): sort by (a, b), count
 * ties in a and joint ties, then count discordant pairs as the swaps of a merge sort on b.
 */
export function kendallTau(a: Vector, b: Vector): number {
  checkPair("kendallTau", a, b);
  if (degenerate(a, b)) return 0;
  const n = a.length;
  // Lexicographic order of (a, b) with one native numeric sort: dense ranks are integers below n, so
  // denseA * n + denseB is exact (n^2 < 2^53 up to ~9 * 10^7 elements) and equal keys mean joint ties.
  const da = denseRank(a);
  const db = denseRank(b);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = da[i] * n + db[i];
  keys.sort();
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    xs[k] = Math.floor(keys[k] / n);
    ys[k] = keys[k] - xs[k] * n;
  }

  const pairs = (t: number) => (t * (t - 1)) / 2;
  const tiedPairs = (v: Float64Array) => {
    let total = 0;
    for (let start = 0; start < n; ) {
      let end = start + 1;
      while (end < n && v[end] === v[start]) end++;
      total += pairs(end - start);
      start = end;
    }
    return total;
  };
  const tiesA = tiedPairs(xs);
  const tiesAB = tiedPairs(keys);

  const discordant = mergeSortCountingSwaps(ys);
  const tiesB = tiedPairs(ys); // ys is sorted now

  const total = pairs(n);
  const denominator = Math.sqrt((total - tiesA) * (total - tiesB));
  if (denominator === 0) return 0;
  const concordantMinusDiscordant = total - tiesA - tiesB + tiesAB - 2 * discordant;
  return Math.max(-1, Math.min(1, concordantMinusDiscordant / denominator));
}

/** 0-based dense ranks: equal values share a rank, the next distinct value gets the next integer. */
function denseRank(v: Vector): Uint32Array {
  const order = argsort(v);
  const out = new Uint32Array(v.length);
  let current = 0;
  for (let k = 0; k < order.length; k++) {
    if (k > 0 && v[order[k]] !== v[order[k - 1]]) current++;
    out[order[k]] = current;
  }
  return out;
}

/** Sorts `v` ascending in place and returns the number of strictly inverted pairs (bottom-up merge sort). */
function mergeSortCountingSwaps(v: Float64Array): number {
  const n = v.length;
  let src: Float64Array = v;
  let dst: Float64Array = new Float64Array(n);
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          swaps += mid - i;
          dst[k++] = src[j++];
        } else {
          dst[k++] = src[i++];
        }
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  if (src !== v) v.set(src);
  return swaps;
}
