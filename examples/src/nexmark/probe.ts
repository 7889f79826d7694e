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
import type { Collector, ProcessContext, ProcessFunction, RuntimeContext } from '@sluice/api';
import { wallClockMs, writeReport } from './reports.js';

export class ThroughputProbe<T> implements ProcessFunction<T, T> {
  private events = 0;
  private warmupEvents = 0;
  private warmupEndedAtMs = NaN;
  private subtask = 0;

  /** `totalWarmupEvents` is split evenly over the parallel subtasks. */
  constructor(private readonly statsDir: string, private readonly totalWarmupEvents: number) {}

  open(ctx: RuntimeContext): void {
    const info = ctx.getTaskInfo();
    this.subtask = info.subtaskIndex;
    this.warmupEvents = Math.max(1, Math.floor(this.totalWarmupEvents / info.parallelism));
  }

  processElement(value: T, _ctx: ProcessContext, out: Collector<T>): void {
    if (++this.events === this.warmupEvents) this.warmupEndedAtMs = wallClockMs();
    out.collect(value);
  }

  close(): void {
    writeReport(this.statsDir, {
      type: 'probe',
      subtask: this.subtask,
      events: this.events,
      warmupEvents: this.warmupEvents,
      warmupEndedAtMs: this.warmupEndedAtMs,
      closedAtMs: wallClockMs(),
    });
  }
}
