/**
 * A checkpoint of one keyed operator's state, taken without stopping the world. At the barrier
 * nothing is copied: the snapshot installs itself as the backend's snapshot guard and from then
 * on captures key groups (serializes them to bytes) in two ways —
 *
 *   - on demand: the backend reports every key switch, and a group is captured just before the
 *     first record or timer after the barrier can change it (copy-on-write per key group);
 *   - in the background: the task loop gives `step` a small time budget between input batches
 *     and it captures the groups nobody touched.
 *
 * So processing never waits longer than it takes to serialize one key group, and every group is
 * captured exactly as it was at the barrier. Writing the bytes to disk happens afterwards, off
 * the task loop.
 */
import { preciseNowMs } from '@sluice/common';
import type { HeapKeyedStateBackend, SnapshotGuard } from './heap-backend.js';
import { SectionWriter } from './section-codec.js';
import type { InternalTimerService } from './timer-service.js';

export interface KeyGroupBytes {
  keyGroup: number;
  bytes: Uint8Array;
}

/** Marks a captured group that held nothing. */
const EMPTY = new Uint8Array(0);

export class KeyedStateSnapshot implements SnapshotGuard {
  private readonly captured: (Uint8Array | undefined)[];
  private remaining: number;
  private cursor = 0;
  /** Reused for every key group of this snapshot. */
  private readonly writer = new SectionWriter();
  /** Longest single capture, for the pause metric. */
  maxCaptureMs = 0;

  constructor(
    private readonly backend: HeapKeyedStateBackend,
    private readonly timers: InternalTimerService | undefined,
  ) {
    this.captured = new Array<Uint8Array | undefined>(backend.groupCount).fill(undefined);
    this.remaining = backend.groupCount;
    if (this.remaining > 0) backend.snapshotGuard = this;
  }

  get done(): boolean {
    return this.remaining === 0;
  }

  ensure(groupIndex: number): void {
    if (this.captured[groupIndex] === undefined) this.capture(groupIndex);
  }

  /** Captures untouched groups until all are done or `budgetMs` has passed; true when done. */
  step(budgetMs: number): boolean {
    const until = preciseNowMs() + budgetMs;
    while (this.remaining > 0) {
      while (this.captured[this.cursor] !== undefined) this.cursor++;
      this.capture(this.cursor);
      if (preciseNowMs() >= until) break;
    }
    return this.remaining === 0;
  }

  /** Captures everything left now (a newer checkpoint is starting, or the task is ending). */
  complete(): void {
    while (this.remaining > 0) this.step(Infinity);
  }

  /** The non-empty key groups, in key-group order; only once `done`. */
  sections(): KeyGroupBytes[] {
    const out: KeyGroupBytes[] = [];
    const first = this.backend.keyGroupRange.start;
    this.captured.forEach((bytes, i) => {
      if (bytes !== undefined && bytes !== EMPTY) out.push({ keyGroup: first + i, bytes });
    });
    return out;
  }

  private capture(groupIndex: number): void {
    const t0 = preciseNowMs();
    this.captured[groupIndex] = this.backend.serializeGroup(groupIndex, this.timers?.inCheckpoints === true ? this.timers.sources : undefined, this.writer) ?? EMPTY;
    const took = preciseNowMs() - t0;
    if (took > this.maxCaptureMs) this.maxCaptureMs = took;
    if (--this.remaining === 0 && this.backend.snapshotGuard === this) this.backend.snapshotGuard = undefined;
  }
}
