/**
 * The timers of one time domain of one keyed operator. Timers with the same timestamp share a
 * bucket (a list in registration order); a min-heap holds the distinct timestamps. Window
 * operators register one timer per (key, window) but only a handful of distinct window ends,
 * so adding and firing a timer is O(1) instead of O(log n) in one heap of all timers. A
 * per-key-group index (key → linked list of that key's timers) makes registration idempotent
 * and deletion cheap: a deleted timer is unlinked and marked, and its bucket skips it.
 */
import type { TimerSource } from './section-codec.js';
import type { Namespace } from './state-table.js';

export interface Timer {
  readonly timestamp: number;
  /** The key as the user's key selector returned it. */
  readonly key: unknown;
  readonly normalizedKey: unknown;
  readonly keyGroup: number;
  readonly namespace: Namespace;
  /** Set once the timer fired or was deleted; its bucket then skips it. */
  removed: boolean;
  /** Next timer of the same key. */
  next: Timer | undefined;
}

interface Bucket {
  readonly timers: Timer[];
  /** Timers before this position have been polled. */
  pos: number;
}

export class TimerQueue implements TimerSource {
  /** Distinct pending timestamps, a binary min-heap. */
  private readonly times: number[] = [];
  private readonly buckets = new Map<number, Bucket>();
  private readonly index: (Map<unknown, Timer> | undefined)[];
  private count = 0;

  constructor(private readonly firstGroup: number, groupCount: number) {
    this.index = new Array<Map<unknown, Timer> | undefined>(groupCount).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** The earliest live timer, without removing it. */
  peek(): Timer | undefined {
    for (;;) {
      const ts = this.times[0];
      if (ts === undefined) return undefined;
      const bucket = this.buckets.get(ts)!;
      const timers = bucket.timers;
      while (bucket.pos < timers.length && timers[bucket.pos]!.removed) bucket.pos++;
      if (bucket.pos < timers.length) return timers[bucket.pos];
      this.buckets.delete(ts);
      this.popTime();
    }
  }

  /** True when the key has a pending timer in `namespace`, at any time. */
  hasAny(normalizedKey: unknown, keyGroup: number, namespace: Namespace): boolean {
    for (let t = this.index[keyGroup - this.firstGroup]?.get(normalizedKey); t !== undefined; t = t.next) {
      if (t.namespace === namespace) return true;
    }
    return false;
  }

  /** Adds a timer unless an equal one exists; returns true if it was added. */
  add(key: unknown, normalizedKey: unknown, keyGroup: number, namespace: Namespace, timestamp: number): boolean {
    const gi = keyGroup - this.firstGroup;
    let byKey = this.index[gi];
    if (byKey === undefined) {
      byKey = new Map();
      this.index[gi] = byKey;
    }
    const head = byKey.get(normalizedKey);
    for (let t = head; t !== undefined; t = t.next) {
      if (t.timestamp === timestamp && t.namespace === namespace) return false;
    }
    const timer: Timer = { timestamp, key, normalizedKey, keyGroup, namespace, removed: false, next: head };
    byKey.set(normalizedKey, timer);
    const bucket = this.buckets.get(timestamp);
    if (bucket === undefined) {
      this.buckets.set(timestamp, { timers: [timer], pos: 0 });
      this.pushTime(timestamp);
    } else {
      bucket.timers.push(timer);
    }
    this.count++;
    return true;
  }

  /** Removes a timer if present; returns true if one was removed. */
  remove(normalizedKey: unknown, keyGroup: number, namespace: Namespace, timestamp: number): boolean {
    const byKey = this.index[keyGroup - this.firstGroup];
    if (byKey === undefined) return false;
    let prev: Timer | undefined;
    for (let t = byKey.get(normalizedKey); t !== undefined; prev = t, t = t.next) {
      if (t.timestamp !== timestamp || t.namespace !== namespace) continue;
      this.unlink(byKey, t, prev);
      t.removed = true;
      this.count--;
      return true;
    }
    return false;
  }

  /** Removes and returns the earliest timer (registration order among equal timestamps). */
  poll(): Timer | undefined {
    const top = this.peek();
    if (top === undefined) return undefined;
    this.buckets.get(top.timestamp)!.pos++;
    const byKey = this.index[top.keyGroup - this.firstGroup]!;
    let prev: Timer | undefined;
    for (let t = byKey.get(top.normalizedKey); t !== undefined && t !== top; t = t.next) prev = t;
    this.unlink(byKey, top, prev);
    top.removed = true;
    this.count--;
    return top;
  }

  /** One key group's timers: per normalized key, the head of that key's list (for checkpoints). */
  chainsOfGroup(keyGroup: number): ReadonlyMap<unknown, Timer> | undefined {
    const byKey = this.index[keyGroup - this.firstGroup];
    return byKey === undefined || byKey.size === 0 ? undefined : byKey;
  }

  private unlink(byKey: Map<unknown, Timer>, t: Timer, prev: Timer | undefined): void {
    if (prev === undefined) {
      if (t.next === undefined) byKey.delete(t.normalizedKey);
      else byKey.set(t.normalizedKey, t.next);
    } else {
      prev.next = t.next;
    }
    t.next = undefined;
  }

  private pushTime(ts: number): void {
    const h = this.times;
    let i = h.length;
    h.push(ts);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= ts) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ts;
  }

  private popTime(): void {
    const h = this.times;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
