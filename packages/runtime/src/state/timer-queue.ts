/**
 * The timers of one time domain of one keyed operator: a binary min-heap ordered by timestamp
 * for firing, plus a per-key-group index (key → linked list of that key's timers) that makes
 * registration idempotent and deletion O(log n) without allocating a lookup key. A key rarely
 * holds more than a handful of timers, so walking its list is cheaper than a composite index.
 */
import type { Namespace } from './state-table.js';

export interface Timer {
  readonly timestamp: number;
  /** The key as the user's key selector returned it. */
  readonly key: unknown;
  readonly normalizedKey: unknown;
  readonly keyGroup: number;
  readonly namespace: Namespace;
  /** Position in the heap; −1 once removed. */
  heapIndex: number;
  /** Next timer of the same key. */
  next: Timer | undefined;
  /** Tie-breaker so that equal timestamps fire in registration order (deterministic output). */
  readonly seq: number;
}

export class TimerQueue {
  private readonly heap: Timer[] = [];
  private readonly index: (Map<unknown, Timer> | undefined)[];
  private seq = 0;

  constructor(private readonly firstGroup: number, groupCount: number) {
    this.index = new Array<Map<unknown, Timer> | undefined>(groupCount).fill(undefined);
  }

  get size(): number {
    return this.heap.length;
  }

  peek(): Timer | undefined {
    return this.heap[0];
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
    const timer: Timer = { timestamp, key, normalizedKey, keyGroup, namespace, heapIndex: this.heap.length, next: head, seq: this.seq++ };
    byKey.set(normalizedKey, timer);
    this.heap.push(timer);
    this.siftUp(timer.heapIndex);
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
      this.removeAt(t.heapIndex);
      return true;
    }
    return false;
  }

  /** Removes and returns the earliest timer. */
  poll(): Timer | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const byKey = this.index[top.keyGroup - this.firstGroup]!;
    let prev: Timer | undefined;
    for (let t = byKey.get(top.normalizedKey); t !== undefined && t !== top; t = t.next) prev = t;
    this.unlink(byKey, top, prev);
    this.removeAt(0);
    return top;
  }

  /** The timers of one key group as plain data: `[key, namespace, timestamp]`. */
  snapshotGroup(keyGroup: number): [unknown, Namespace, number][] {
    const byKey = this.index[keyGroup - this.firstGroup];
    const out: [unknown, Namespace, number][] = [];
    if (byKey !== undefined) for (const head of byKey.values()) for (let t: Timer | undefined = head; t !== undefined; t = t.next) out.push([t.key, t.namespace, t.timestamp]);
    return out;
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

  private less(a: Timer, b: Timer): boolean {
    return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const removed = h[i]!;
    removed.heapIndex = -1;
    const last = h.pop()!;
    if (i === h.length) return;
    h[i] = last;
    last.heapIndex = i;
    this.siftDown(i);
    this.siftUp(last.heapIndex);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(t, parent)) break;
      h[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    h[i] = t;
    t.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(h[r]!, h[l]!)) c = r;
      const child = h[c]!;
      if (!this.less(child, t)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}
