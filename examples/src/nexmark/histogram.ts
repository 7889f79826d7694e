/**
 * A log-bucketed latency histogram: fixed memory, O(1) record, mergeable across subtasks by
 * adding bucket counts, and plain data so it can be written as JSON and read back by the bench.
 * Buckets are 1/8 of a power of two of microseconds wide (≈ 9 % relative precision) from 1 µs to
 * ~2^40 µs; values below 1 µs (or negative, from clock skew) land in bucket 0.
 */

const SUB_BUCKETS = 8;
const MAX_LOG2 = 40;
export const HISTOGRAM_BUCKETS = 1 + MAX_LOG2 * SUB_BUCKETS;

export interface HistogramData {
  count: number;
  /** Sum, min and max of the recorded values in ms (exact, not bucketed). */
  sumMs: number;
  minMs: number;
  maxMs: number;
  buckets: number[];
}

function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (!(us >= 1)) return 0;
  const b = 1 + Math.floor(Math.log2(us) * SUB_BUCKETS);
  return b < HISTOGRAM_BUCKETS ? b : HISTOGRAM_BUCKETS - 1;
}

/** Lower and upper bound (ms) of bucket `b`. */
function bucketBounds(b: number): [number, number] {
  if (b === 0) return [0, 0.001];
  const lo = Math.pow(2, (b - 1) / SUB_BUCKETS) / 1000;
  const hi = Math.pow(2, b / SUB_BUCKETS) / 1000;
  return [lo, hi];
}

export class LatencyHistogram {
  private readonly buckets = new Float64Array(HISTOGRAM_BUCKETS);
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(ms: number): void {
    this.buckets[bucketOf(ms)]! += 1;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  toData(): HistogramData {
    return { count: this.count, sumMs: this.sum, minMs: this.count === 0 ? 0 : this.min, maxMs: this.count === 0 ? 0 : this.max, buckets: Array.from(this.buckets) };
  }
}

export function emptyHistogram(): HistogramData {
  return new LatencyHistogram().toData();
}

export function mergeHistograms(parts: readonly HistogramData[]): HistogramData {
  const out = emptyHistogram();
  let min = Infinity;
  let max = -Infinity;
  for (const p of parts) {
    if (p.count === 0) continue;
    out.count += p.count;
    out.sumMs += p.sumMs;
    min = Math.min(min, p.minMs);
    max = Math.max(max, p.maxMs);
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) out.buckets[i]! += p.buckets[i] ?? 0;
  }
  if (out.count > 0) {
    out.minMs = min;
    out.maxMs = max;
  }
  return out;
}

/**
 * The value at quantile q (0..1), ms: the geometric middle of the bucket holding the q-th value,
 * clamped to the exact min and max; the top rank is the exact max. NaN when the histogram is empty.
 */
export function quantile(h: HistogramData, q: number): number {
  if (h.count === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * h.count));
  if (rank >= h.count) return h.maxMs;
  let seen = 0;
  for (let b = 0; b < h.buckets.length; b++) {
    seen += h.buckets[b] ?? 0;
    if (seen >= rank) {
      const [lo, hi] = bucketBounds(b);
      const mid = b === 0 ? hi / 2 : Math.sqrt(lo * hi);
      return Math.min(h.maxMs, Math.max(h.minMs, mid));
    }
  }
  return h.maxMs;
}

export function meanMs(h: HistogramData): number {
  return h.count === 0 ? NaN : h.sumMs / h.count;
}
