/**
 * Keeps exported counters monotonic while the things they count come and go. Snapshots carry raw
 * cumulative counts per subtask; when a subtask ends (it vanishes from snapshots) or restarts (its
 * counts drop), a naive export would make Prometheus see a reset or a vanished series. This table
 * remembers, per identity, the counts of earlier incarnations (`base`) and exports
 * `base + current`, so `rate()` and `increase()` stay correct across restarts and job ends.
 *
 * Memory is bounded: ended identities are kept for `retiredTtlMs` and at most `maxRetired` of them
 * (oldest dropped first). A dropped series simply goes stale in Prometheus, which is not a reset.
 *
 * Pure state, no prom-client: the registry feeds it one snapshot at a time.
 */

export interface MonotonicCountersOptions {
  /** Ended identities remembered at most; the oldest go first. */
  maxRetired: number;
  /** How long an ended identity keeps being exported with its final values. */
  retiredTtlMs: number;
}

export const DEFAULT_MONOTONIC_COUNTERS_OPTIONS: Readonly<MonotonicCountersOptions> = Object.freeze({
  maxRetired: 10_000,
  retiredTtlMs: 60 * 60 * 1000,
});

export interface CounterSample<L> {
  labels: L;
  /** One value per counter, in the order given to `observe`. */
  values: readonly number[];
}

interface Entry<L> {
  labels: L;
  base: number[];
  last: number[];
  seen: boolean;
}

export class MonotonicCounters<L> {
  private readonly entries = new Map<string, Entry<L>>();
  /** Ended identities in the order they ended: identity → time it ended. */
  private readonly retired = new Map<string, number>();
  private readonly options: MonotonicCountersOptions;

  constructor(options: Partial<MonotonicCountersOptions> = {}) {
    this.options = { ...DEFAULT_MONOTONIC_COUNTERS_OPTIONS, ...options };
  }

  /** Starts a snapshot: identities not observed before `endSnapshot` are treated as ended. */
  beginSnapshot(): void {
    for (const e of this.entries.values()) e.seen = false;
  }

  /**
   * Records the raw cumulative counts of one identity. A count lower than the previous one means
   * the counted thing restarted from zero, so the previous count is folded into the base.
   *
   * With `resetIndex`, only a drop of `raw[resetIndex]` means a restart, and then every value is
   * folded at once; the others are taken as they are, negative ones included. Histograms need
   * this: their sum may fall (negative observations), and after a restart one bucket may have
   * overtaken its old count before anyone looked, while their count cannot fall without one.
   */
  observe(identity: string, labels: L, raw: readonly number[], resetIndex?: number): void {
    let e = this.entries.get(identity);
    if (e === undefined) {
      e = { labels, base: raw.map(() => 0), last: raw.map(() => 0), seen: true };
      this.entries.set(identity, e);
    }
    this.retired.delete(identity);
    e.seen = true;
    e.labels = labels;
    if (resetIndex !== undefined) {
      const restarted = finite(raw[resetIndex]) < (e.last[resetIndex] ?? 0);
      for (let i = 0; i < raw.length; i++) {
        if (restarted) e.base[i] = (e.base[i] ?? 0) + (e.last[i] ?? 0);
        e.last[i] = finite(raw[i]);
      }
      return;
    }
    for (let i = 0; i < raw.length; i++) {
      const value = sanitize(raw[i]);
      const last = e.last[i] ?? 0;
      if (value < last) e.base[i] = (e.base[i] ?? 0) + last;
      e.last[i] = value;
    }
  }

  /** Ends a snapshot: folds identities that were not observed into their base and forgets old ones. */
  endSnapshot(now: number): void {
    for (const [identity, e] of this.entries) {
      if (e.seen || this.retired.has(identity)) continue;
      for (let i = 0; i < e.last.length; i++) {
        e.base[i] = (e.base[i] ?? 0) + (e.last[i] ?? 0);
        e.last[i] = 0;
      }
      this.retired.set(identity, now);
    }
    for (const [identity, endedAt] of this.retired) {
      if (this.retired.size <= this.options.maxRetired && now - endedAt < this.options.retiredTtlMs) break;
      this.retired.delete(identity);
      this.entries.delete(identity);
    }
  }

  /** Exported values: live and remembered identities alike. */
  *samples(): IterableIterator<CounterSample<L>> {
    for (const e of this.entries.values()) {
      yield { labels: e.labels, values: e.base.map((b, i) => b + (e.last[i] ?? 0)) };
    }
  }

  /** Identities currently held (live plus remembered); for tests and self-monitoring. */
  get size(): number {
    return this.entries.size;
  }
}

function finite(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

function sanitize(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}
