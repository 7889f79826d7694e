/**
 * ThroughputProbe: a pass-through process function chained right after a source, for sources
 * that cannot count their own events (the bench's keyed job). The Nexmark source counts in its
 * generator instead (probed-source.ts): an operator in the chain costs a hop per event and can
 * make the chain's dispatch megamorphic (bench/CHAIN-FINDINGS.md §4). It counts
 * the events its subtask emits, notes the wall-clock time when the subtask's share of the
 * warm-up has passed, and at close writes a ProbeReport. The bench combines it with the sinks'
 * end-of-input times: throughput = events after warm-up / (last end of input − warm-up end).
 * Its cost is one increment and one comparison per event (no clock read per event).
 */
import type { Collector, ProcessContext, ProcessFunction, RuntimeContext, TaskInfo } from '@sluice/api';
import { wallClockMs, writeReport } from './reports.js';

/** What one subtask counted: the events it emitted and when its share of the warm-up had passed. */
export class ProbeCount {
  events = 0;
  /** Wall-clock ms when `events` reached `warmupEvents`; NaN until then. */
  warmupEndedAtMs = NaN;
  constructor(readonly subtask: number, readonly warmupEvents: number) {}

  /** The count of `task`, with `totalWarmupEvents` split evenly over the parallel subtasks (at least 1 each). */
  static forSubtask(task: TaskInfo, totalWarmupEvents: number): ProbeCount {
    return new ProbeCount(task.subtaskIndex, Math.max(1, Math.floor(totalWarmupEvents / task.parallelism)));
  }

  /**
   * Call as events are emitted, with how many (one, or a burst). The warm-up's end is noted when
   * the count crosses it, so with bursts it is placed to within a burst.
   */
  count(events: number): void {
    const before = this.events;
    this.events = before + events;
    if (before < this.warmupEvents && this.events >= this.warmupEvents) this.warmupEndedAtMs = wallClockMs();
  }

  /** Writes the subtask's ProbeReport, closed now. */
  report(statsDir: string): void {
    writeReport(statsDir, { type: 'probe', subtask: this.subtask, events: this.events, warmupEvents: this.warmupEvents, warmupEndedAtMs: this.warmupEndedAtMs, closedAtMs: wallClockMs() });
  }
}

export class ThroughputProbe<T> implements ProcessFunction<T, T> {
  private count = new ProbeCount(0, 0);

  /** `totalWarmupEvents` is split evenly over the parallel subtasks. */
  constructor(private readonly statsDir: string, private readonly totalWarmupEvents: number) {}

  open(ctx: RuntimeContext): void {
    this.count = ProbeCount.forSubtask(ctx.getTaskInfo(), this.totalWarmupEvents);
  }

  processElement(value: T, _ctx: ProcessContext, out: Collector<T>): void {
    this.count.count(1);
    out.collect(value);
  }

  close(): void {
    this.count.report(this.statsDir);
  }
}
