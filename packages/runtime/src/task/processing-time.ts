/**
 * Processing time for one task thread. Callbacks live in a min-heap; the task loop calls
 * `fireDue()` between batches and sleeps no longer than `nextDeadline()`. Nothing runs
 * concurrently with record processing, so operators need no synchronisation.
 */
import { preciseNowMs } from '@sluice/common';
import type { ProcessingTimeService, ScheduledCallback } from '../operators/types.js';

interface Entry extends ScheduledCallback {
  time: number;
  seq: number;
  callback: (time: number) => void;
  cancelled: boolean;
}

export class TaskProcessingTimeService implements ProcessingTimeService {
  private readonly heap: Entry[] = [];
  private seq = 0;

  constructor(private readonly clock: () => number = preciseNowMs) {}

  now(): number {
    return this.clock();
  }

  registerTimer(time: number, callback: (time: number) => void): ScheduledCallback {
    const entry: Entry = {
      time,
      seq: this.seq++,
      callback,
      cancelled: false,
      cancel() {
        entry.cancelled = true;
      },
    };
    this.push(entry);
    return entry;
  }

  /** Earliest pending callback time, or Infinity. */
  nextDeadline(): number {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap.length === 0 ? Infinity : this.heap[0]!.time;
  }

  /** Runs every callback due at `now`, in time order; returns how many ran. */
  fireDue(now: number = this.clock()): number {
    let fired = 0;
    while (this.heap.length > 0 && this.heap[0]!.time <= now) {
      const e = this.pop()!;
      if (e.cancelled) continue;
      e.cancelled = true;
      e.callback(e.time);
      fired++;
    }
    return fired;
  }

  /** Callbacks registered and neither fired nor cancelled. */
  pending(): number {
    let n = 0;
    for (const e of this.heap) if (!e.cancelled) n++;
    return n;
  }

  private less(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
