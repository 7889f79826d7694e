/**
 * Keyed windows: tumbling, sliding and session (merging), in event or processing time, with
 * allowed lateness. Triggers behave like Flink's defaults: an event-time window fires when the
 * watermark passes its max timestamp and again for every late element within the allowed
 * lateness; its state is dropped once the watermark passes maxTimestamp + lateness. Elements
 * later than that go to the late-data side output, or are dropped and counted. Results carry
 * the window's max timestamp.
 */
import { TimeWindow, type KeySelector, type OperatorSpec, type WindowAssigner } from '@sluice/api';
import { SluiceError } from '@sluice/common';
import type { HeapKeyedStateBackend } from '../state/heap-backend.js';
import type { KeyedTable, Namespace } from '../state/state-table.js';
import type { InternalTimerService, Timer, TimerTarget } from '../state/timer-service.js';
import { TimestampedCollector } from './contexts.js';
import { closeFunction, createKeyedBackend, createTimerService, openFunction, OperatorRuntimeContext } from './runtime-context.js';
import { SessionMergeResult, addSessionWindow, findSessionWindow, removeSessionWindowAt } from './session-windows.js';
import type { OperatorContext, OperatorMetricGroup, Output, ProcessingTimeService, StreamOperator } from './types.js';
import { WindowContents, WindowContextImpl } from './window-contents.js';

type WindowSpec = Extract<OperatorSpec, { kind: 'window' }>;

export class WindowOperator implements StreamOperator, TimerTarget {
  private readonly keySelector: KeySelector<unknown, unknown>;
  private readonly assigner: WindowAssigner;
  private readonly lateness: number;
  private readonly lateTag: string | undefined;
  private readonly isEventTime: boolean;
  private readonly merging: boolean;
  /** Window length of non-merging assigners, to rebuild a window from its start (the namespace). */
  private readonly size: number;
  private readonly contents: WindowContents;

  private output!: Output;
  private time!: ProcessingTimeService;
  private metrics!: OperatorMetricGroup;
  private operatorName!: string;
  backend!: HeapKeyedStateBackend;
  timers!: InternalTimerService;
  private collector!: TimestampedCollector;
  private wctx!: WindowContextImpl;
  private sessions: KeyedTable<number[]> | undefined;
  private readonly mergeResult = new SessionMergeResult();

  constructor(spec: WindowSpec, nodeName: string) {
    this.keySelector = spec.keySelector;
    this.assigner = spec.assigner;
    this.lateness = Math.max(0, spec.allowedLatenessMs);
    this.lateTag = spec.lateDataTag;
    this.isEventTime = spec.assigner.timeDomain === 'event';
    this.merging = spec.assigner.isMerging;
    const probe = this.merging ? undefined : spec.assigner.assignWindows(0)[0];
    this.size = probe === undefined ? 0 : probe.end - probe.start;
    this.contents = new WindowContents(spec.function, this.merging, nodeName);
  }

  async open(ctx: OperatorContext, output: Output): Promise<void> {
    this.output = output;
    this.time = ctx.processingTime;
    this.metrics = ctx.metrics;
    this.operatorName = ctx.operatorName;
    this.backend = createKeyedBackend(ctx);
    this.timers = createTimerService(ctx, this.backend, this);
    this.collector = new TimestampedCollector(output);
    this.wctx = new WindowContextImpl(output, ctx.processingTime);
    this.contents.open(this.backend);
    if (this.merging) this.sessions = this.backend.internalTable<number[]>('session-windows');
    // Fixed-size windows without allowed lateness have exactly one timer per (key, window) with
    // contents, at the window's max timestamp: it fires and clears the window together, and a
    // window past it takes no more elements. Such timers are rebuilt from the contents on restore
    // instead of being checkpointed, which halves what a checkpoint walks and writes. The
    // contents keep keys normalized, so this holds only while every key is a primitive: the
    // first object key turns timer checkpointing back on (processElement).
    if (!this.merging) {
      if (this.lateness === 0) this.timers.inCheckpoints = false;
      this.rebuildTimers();
    }
    if (this.contents.windowFn !== undefined) await openFunction(this.contents.windowFn, new OperatorRuntimeContext(ctx, this.backend));
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const key = this.keySelector(value);
    if (typeof key === 'object' && key !== null) this.timers.inCheckpoints = true;
    this.backend.setCurrentKey(key);
    let elementTime: number;
    if (this.isEventTime) {
      if (timestamp === undefined) {
        throw new SluiceError(
          'MISSING_TIMESTAMP',
          `window operator '${this.operatorName}' (${this.assigner.describe()}) received a record without a timestamp; event-time windows need ` +
            `timestamps — assign them with assignTimestampsAndWatermarks(...) or the source's WatermarkStrategy`,
        );
      }
      elementTime = timestamp;
    } else {
      elementTime = this.time.now();
    }
    const skipped = this.merging
      ? this.addToSessions(value, this.assigner.assignWindows(elementTime))
      : this.assigner.assignWindowStarts !== undefined
        ? this.addToFixedWindows(value, this.assigner.assignWindowStarts(elementTime, this.starts))
        : this.addToWindows(value, this.assigner.assignWindows(elementTime));
    if (skipped && this.isEventTime && elementTime + this.lateness <= this.timers.currentWatermark) {
      if (this.lateTag !== undefined) this.output.collectSide(this.lateTag, value, timestamp);
      else this.metrics.lateRecordsDropped++;
    }
  }

  /**
   * Restored (key, window)s without any timer get the timers their first element registered:
   * they come from a checkpoint that left timers out (no allowed lateness), so none of them has
   * fired yet. A window whose timers came back keeps exactly those (a window with lateness that
   * already fired has only its cleanup timer left), and gets its cleanup timer if this job's
   * lateness asks for one. So a savepoint restores whatever the lateness was when it was taken.
   */
  private rebuildTimers(): void {
    const b = this.backend;
    const first = b.keyGroupRange.start;
    this.contents.forEachKey((gi, ns, key) => {
      b.setCurrentKeyKnown(key, key, first + gi);
      const start = ns as number;
      if (!this.timers.hasTimerIn(ns)) {
        const maxTs = start + this.size - 1;
        if (this.isEventTime) this.timers.registerEventTimeTimer(ns, maxTs);
        else this.timers.registerProcessingTimeTimer(ns, maxTs);
      }
      this.registerCleanupTimer(start, start + this.size);
    });
    b.clearCurrentKey();
  }

  /** Scratch for window starts of fixed-size assigners: no allocation per record. */
  private readonly starts: number[] = [];

  /** Like addToWindows for fixed-size windows whose starts are in `this.starts[0..count)`. */
  private addToFixedWindows(value: unknown, count: number): boolean {
    let skipped = true;
    const size = this.size;
    for (let i = 0; i < count; i++) {
      const start = this.starts[i]!;
      const end = start + size;
      if (this.isWindowLate(end)) continue;
      skipped = false;
      this.addToWindow(start, end, value);
    }
    return skipped;
  }

  /**
   * Adds to one window of a non-merging assigner and applies the default trigger. A window's
   * timers are registered with its first element and live as long as its contents (the cleanup
   * timer clears both), so an element for a window that already holds contents only needs the
   * trigger's fire-now check, not another round of timer look-ups.
   */
  private addToWindow(start: number, end: number, value: unknown): void {
    if (this.contents.add(start, value)) {
      if (this.onElementTrigger(start, end)) this.fire(new TimeWindow(start, end), start);
      this.registerCleanupTimer(start, end);
    } else if (this.isEventTime && this.isDue(end)) {
      this.fire(new TimeWindow(start, end), start);
    }
  }

  /** Returns true if every window was already past its lateness (the element was skipped). */
  private addToWindows(value: unknown, windows: readonly TimeWindow[]): boolean {
    let skipped = true;
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      if (this.isWindowLate(w.end)) continue;
      skipped = false;
      this.addToWindow(w.start, w.end, value);
    }
    return skipped;
  }

  private addToSessions(value: unknown, windows: readonly TimeWindow[]): boolean {
    const b = this.backend;
    const table = this.sessions!;
    let set = table.get(b.groupIndex, b.normalizedKey);
    if (set === undefined) set = [];
    const r = this.mergeResult;
    let skipped = true;
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      addSessionWindow(set, w.start, w.end, r);
      if (r.isNew && this.isWindowLate(r.end)) {
        set.length -= 3;
        continue;
      }
      if (r.absorbed.length > 0) this.mergeWindows(r);
      skipped = false;
      this.contents.add(r.stateNamespace, value);
      if (this.onElementTrigger(r.start, r.end)) this.fire(new TimeWindow(r.start, r.end), r.stateNamespace);
      this.registerCleanupTimer(r.start, r.end);
    }
    if (set.length === 0) table.remove(b.groupIndex, b.normalizedKey);
    else table.put(b.groupIndex, b.normalizedKey, set);
    return skipped;
  }

  /** Moves absorbed windows' contents into the surviving namespace and re-arms timers. */
  private mergeWindows(r: SessionMergeResult): void {
    const a = r.absorbed;
    for (let i = 0; i < a.length; i += 3) {
      const start = a[i]!;
      const maxTs = a[i + 1]! - 1;
      const ns = a[i + 2]!;
      if (ns !== r.stateNamespace) this.contents.merge(r.stateNamespace, ns);
      if (this.isEventTime) {
        this.timers.deleteEventTimeTimer(start, maxTs);
        this.timers.deleteEventTimeTimer(start, maxTs + this.lateness);
      } else {
        this.timers.deleteProcessingTimeTimer(start, maxTs);
      }
    }
    const mergedMax = r.end - 1;
    // Like Flink's triggers' onMerge: only re-arm if the merged window is not already due.
    if (this.isEventTime) {
      if (mergedMax > this.timers.currentWatermark) this.timers.registerEventTimeTimer(r.start, mergedMax);
    } else if (mergedMax > this.time.now()) {
      this.timers.registerProcessingTimeTimer(r.start, mergedMax);
    }
  }

  /** The default triggers' onElement: true when the window must fire right now. */
  private onElementTrigger(start: number, end: number): boolean {
    const maxTs = end - 1;
    if (!this.isEventTime) {
      this.timers.registerProcessingTimeTimer(start, maxTs);
      return false;
    }
    if (this.isDue(end)) return true;
    this.timers.registerEventTimeTimer(start, maxTs);
    return false;
  }

  /** An event-time window the watermark has passed: an element for it fires it at once. */
  private isDue(end: number): boolean {
    return end - 1 <= this.timers.currentWatermark;
  }

  private registerCleanupTimer(start: number, end: number): void {
    // Processing-time windows are cleaned by the same timer that fires them.
    if (this.isEventTime && this.lateness > 0) this.timers.registerEventTimeTimer(start, end - 1 + this.lateness);
  }

  private isWindowLate(end: number): boolean {
    return this.isEventTime && end - 1 + this.lateness <= this.timers.currentWatermark;
  }

  onEventTime(timer: Timer): void {
    if (this.isEventTime) this.onTimer(timer);
  }

  onProcessingTime(timer: Timer): void {
    if (!this.isEventTime) this.onTimer(timer);
  }

  private onTimer(timer: Timer): void {
    const start = timer.namespace as number;
    const time = timer.timestamp;
    let window: TimeWindow;
    let stateNs: Namespace;
    let set: number[] | undefined;
    let index = -1;
    if (this.merging) {
      const b = this.backend;
      set = this.sessions!.get(b.groupIndex, b.normalizedKey);
      index = set === undefined ? -1 : findSessionWindow(set, start);
      // The window was merged away or cleaned up after this timer was set.
      if (index < 0) return;
      window = new TimeWindow(start, set![index + 1]!);
      stateNs = set![index + 2]!;
    } else {
      window = new TimeWindow(start, start + this.size);
      stateNs = start;
    }
    const maxTs = window.end - 1;
    if (time === maxTs) this.fire(window, stateNs);
    const cleanupTime = this.isEventTime ? maxTs + this.lateness : maxTs;
    // At or past: a cleanup timer restored from a savepoint taken with more lateness comes later.
    if (time >= cleanupTime) {
      this.contents.clear(stateNs);
      if (set !== undefined) {
        removeSessionWindowAt(set, index);
        if (set.length === 0) this.sessions!.remove(this.backend.groupIndex, this.backend.normalizedKey);
      }
    }
  }

  private fire(window: TimeWindow, stateNs: Namespace): void {
    this.collector.currentTimestamp = window.end - 1;
    this.wctx.current = window;
    this.wctx.watermark = this.timers.currentWatermark;
    this.contents.emit(stateNs, this.wctx, this.collector);
  }

  processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    this.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }

  finish(): void {}

  async close(): Promise<void> {
    this.timers?.close();
    if (this.contents.windowFn !== undefined) await closeFunction(this.contents.windowFn);
  }
}
