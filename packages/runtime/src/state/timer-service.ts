/**
 * Event-time and processing-time timers of one keyed operator, per (key, namespace, timestamp).
 * Event timers fire when the watermark passes them; processing timers are driven by the task's
 * ProcessingTimeService with a single callback armed for the earliest pending timer, so a
 * million timers cost one scheduled callback, not a million. Timers fire with their key set as
 * the backend's current key, so state handles see the right key in `onTimer`.
 */
import { keyGroupFor } from '@sluice/common';
import type { ProcessingTimeService, ScheduledCallback } from '../operators/types.js';
import type { HeapKeyedStateBackend } from './heap-backend.js';
import { normalizeKey } from './keys.js';
import type { TimerEntry, TimerSource } from './section-codec.js';
import type { Namespace } from './state-table.js';
import { TimerQueue, type Timer } from './timer-queue.js';

export type { Timer } from './timer-queue.js';

export interface TimerTarget {
  onEventTime(timer: Timer): void;
  onProcessingTime(timer: Timer): void;
}

/** One key group's timers as a checkpoint restores them. */
export interface TimersSnapshot {
  keyGroup: number;
  event: TimerEntry[];
  processing: TimerEntry[];
}

export class InternalTimerService {
  /** −Infinity until the first watermark. */
  currentWatermark = -Infinity;
  /**
   * False when the operator re-creates every timer from its state on restore (windows without
   * allowed lateness: one timer per window's contents); checkpoints then leave timers out.
   */
  inCheckpoints = true;
  private readonly eventTimers: TimerQueue;
  private readonly processingTimers: TimerQueue;
  private scheduled: ScheduledCallback | undefined;
  private scheduledAt = Infinity;
  private firingProcessing = false;
  private readonly onProcessingTimeCallback: (time: number) => void;

  constructor(
    private readonly backend: HeapKeyedStateBackend,
    private readonly time: ProcessingTimeService,
    private readonly target: TimerTarget,
  ) {
    const range = backend.keyGroupRange;
    const count = Math.max(0, range.end - range.start + 1);
    this.eventTimers = new TimerQueue(range.start, count);
    this.processingTimers = new TimerQueue(range.start, count);
    this.onProcessingTimeCallback = (t) => this.fireProcessingTimers(t);
    for (const snap of backend.takeRestoredTimers()) this.restoreKeyGroup(snap);
  }

  currentProcessingTime(): number {
    return this.time.now();
  }

  registerEventTimeTimer(namespace: Namespace, timestamp: number): void {
    const b = this.backend;
    if (b.groupIndex < 0) b.requireKey();
    this.eventTimers.add(b.currentKey, b.normalizedKey, b.currentKeyGroup, namespace, timestamp);
  }

  deleteEventTimeTimer(namespace: Namespace, timestamp: number): void {
    const b = this.backend;
    if (b.groupIndex < 0) b.requireKey();
    this.eventTimers.remove(b.normalizedKey, b.currentKeyGroup, namespace, timestamp);
  }

  registerProcessingTimeTimer(namespace: Namespace, timestamp: number): void {
    const b = this.backend;
    if (b.groupIndex < 0) b.requireKey();
    if (this.processingTimers.add(b.currentKey, b.normalizedKey, b.currentKeyGroup, namespace, timestamp)) this.arm();
  }

  deleteProcessingTimeTimer(namespace: Namespace, timestamp: number): void {
    const b = this.backend;
    if (b.groupIndex < 0) b.requireKey();
    // The armed callback stays; when it fires with nothing due it simply re-arms for the next.
    this.processingTimers.remove(b.normalizedKey, b.currentKeyGroup, namespace, timestamp);
  }

  /** Fires every event timer with timestamp ≤ `watermark`, in timestamp order. */
  advanceWatermark(watermark: number): void {
    this.currentWatermark = watermark;
    const q = this.eventTimers;
    for (let t = q.peek(); t !== undefined && t.timestamp <= watermark; t = q.peek()) {
      // Key first: a snapshot in progress captures the timer's key group before poll changes it.
      this.backend.setCurrentKeyKnown(t.key, t.normalizedKey, t.keyGroup);
      q.poll();
      this.target.onEventTime(t);
    }
  }

  /** True when the current key has a timer of either domain in `namespace`. */
  hasTimerIn(namespace: Namespace): boolean {
    const b = this.backend;
    if (b.groupIndex < 0) b.requireKey();
    return this.eventTimers.hasAny(b.normalizedKey, b.currentKeyGroup, namespace) || this.processingTimers.hasAny(b.normalizedKey, b.currentKeyGroup, namespace);
  }

  numEventTimers(): number {
    return this.eventTimers.size;
  }

  numProcessingTimers(): number {
    return this.processingTimers.size;
  }

  /** The timers by domain, for checkpoints (`HeapKeyedStateBackend.serializeGroup`). */
  get sources(): { event: TimerSource; processing: TimerSource } {
    return { event: this.eventTimers, processing: this.processingTimers };
  }

  restoreKeyGroup(snap: Omit<TimersSnapshot, 'keyGroup'>): void {
    const maxP = this.backend.maxParallelism;
    for (const [key, ns, ts] of snap.event) this.eventTimers.add(key, normalizeKey(key), keyGroupFor(key, maxP), ns, ts);
    for (const [key, ns, ts] of snap.processing) this.processingTimers.add(key, normalizeKey(key), keyGroupFor(key, maxP), ns, ts);
    this.arm();
  }

  /** Cancels the armed processing-time callback; pending timers stay registered. */
  close(): void {
    this.scheduled?.cancel();
    this.scheduled = undefined;
    this.scheduledAt = Infinity;
  }

  private arm(): void {
    if (this.firingProcessing) return;
    const top = this.processingTimers.peek();
    if (top === undefined || top.timestamp >= this.scheduledAt) return;
    this.scheduled?.cancel();
    this.scheduledAt = top.timestamp;
    this.scheduled = this.time.registerTimer(top.timestamp, this.onProcessingTimeCallback);
  }

  private fireProcessingTimers(time: number): void {
    this.scheduled = undefined;
    this.scheduledAt = Infinity;
    const now = Math.max(time, this.time.now());
    const q = this.processingTimers;
    this.firingProcessing = true;
    try {
      for (let t = q.peek(); t !== undefined && t.timestamp <= now; t = q.peek()) {
        this.backend.setCurrentKeyKnown(t.key, t.normalizedKey, t.keyGroup);
        q.poll();
        this.target.onProcessingTime(t);
      }
    } finally {
      this.firingProcessing = false;
    }
    this.arm();
  }
}
