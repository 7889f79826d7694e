import { WatermarkStrategy, type ReaderOutput, type ReaderStatus, type Source, type SourceReader, type SourceSplit } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { isSourceOperator, type SourceStreamOperator } from './types.js';
import { OperatorTestHarness } from './testing.js';

interface Ev {
  t: number;
  s: string;
}

/** A reader fed by the test: `queue(split, …)` makes records available; `finished` ends it. */
class TestingReader implements SourceReader<Ev, SourceSplit> {
  readonly splits: string[] = [];
  readonly queued = new Map<string, Ev[]>();
  finished = false;
  noMore = false;
  closed = false;
  /** Calls output.markIdle() on the next poll that has no split (a reader waiting to discover some). */
  idleWithoutSplits = false;
  constructor(private readonly perSplit: boolean) {}
  addSplits(splits: SourceSplit[]): void {
    for (const s of splits) this.splits.push(s.splitId);
  }
  notifyNoMoreSplits(): void {
    this.noMore = true;
  }
  queue(split: string, ...events: Ev[]): void {
    this.queued.set(split, [...(this.queued.get(split) ?? []), ...events]);
  }
  pollNext(output: ReaderOutput<Ev>): ReaderStatus {
    let emitted = 0;
    for (const id of this.splits) {
      const out = this.perSplit ? output.createSplitOutput(id) : output;
      for (const e of this.queued.get(id) ?? []) {
        out.collect(e, e.t + 1000);
        emitted++;
      }
      this.queued.delete(id);
    }
    if (emitted > 0) return 'more';
    if (this.idleWithoutSplits && this.splits.length === 0) output.markIdle?.();
    return this.finished && this.noMore ? 'end' : 'nothing';
  }
  isAvailable(): Promise<void> {
    return Promise.resolve();
  }
  snapshotState(): SourceSplit[] {
    return this.splits.map((splitId) => ({ splitId }));
  }
  close(): void {
    this.closed = true;
  }
}

function sourceOf(reader: TestingReader): Source<Ev, SourceSplit> {
  return { boundedness: 'bounded', enumerateSplits: () => [], createReader: () => reader };
}

describe('SourceOperator', () => {
  it('generates watermarks per split, leaves an idle split out of the minimum and ends with +Infinity', async () => {
    const reader = new TestingReader(true);
    const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Ev>(0)
      .withTimestampAssigner((e) => e.t)
      .withIdleness(1000);
    const h = await OperatorTestHarness.open({ kind: 'source', source: sourceOf(reader), watermarks: strategy }, { config: { autoWatermarkIntervalMs: 100 } });
    const op = h.operator as SourceStreamOperator;
    expect(isSourceOperator(op)).toBe(true);
    op.addSplits([{ splitId: 's1' }, { splitId: 's2' }]);
    reader.queue('s1', { t: 10, s: 's1' }, { t: 20, s: 's1' });
    reader.queue('s2', { t: 5, s: 's2' });
    expect(op.emitNext()).toBe('more');
    expect(h.records()).toEqual([
      { value: { t: 10, s: 's1' }, timestamp: 10 },
      { value: { t: 20, s: 's1' }, timestamp: 20 },
      { value: { t: 5, s: 's2' }, timestamp: 5 },
    ]);
    expect(op.emitNext()).toBe('nothing');
    h.setProcessingTime(100);
    expect(h.watermarks()).toEqual([4]); // the slower split holds the minimum
    h.setProcessingTime(150);
    reader.queue('s1', { t: 50, s: 's1' });
    op.emitNext();
    h.setProcessingTime(900);
    expect(h.watermarks()).toEqual([4]);
    h.setProcessingTime(1000); // s2 silent for 1000 ms: idle, so s1 alone decides
    expect(h.watermarks()).toEqual([4, 49]);
    expect(h.output.statuses).toEqual([]);
    h.setProcessingTime(1200); // s1 silent since 150: every split idle
    expect(h.output.statuses).toEqual([true]);
    reader.queue('s2', { t: 60, s: 's2' });
    op.emitNext();
    expect(h.output.statuses).toEqual([true, false]);
    h.setProcessingTime(1300);
    expect(h.watermarks()).toEqual([4, 49, 59]);
    reader.finished = true;
    op.noMoreSplits();
    expect(op.emitNext()).toBe('end');
    expect(h.watermarks()).toEqual([4, 49, 59, Infinity]);
    await h.end();
    expect(reader.closed).toBe(true);
    expect(h.time.pending()).toBe(0);
  });

  it('uses the reader-wide generator and the records own timestamps when no split outputs are used', async () => {
    const reader = new TestingReader(false);
    const h = await OperatorTestHarness.open(
      { kind: 'source', source: sourceOf(reader), watermarks: WatermarkStrategy.forMonotonousTimestamps<Ev>() },
      { config: { autoWatermarkIntervalMs: 50 } },
    );
    const op = h.operator as SourceStreamOperator;
    op.addSplits([{ splitId: 'only' }]);
    reader.queue('only', { t: 1, s: 'x' }, { t: 3, s: 'y' });
    op.emitNext();
    expect(h.records()).toEqual([
      { value: { t: 1, s: 'x' }, timestamp: 1001 },
      { value: { t: 3, s: 'y' }, timestamp: 1003 },
    ]);
    h.setProcessingTime(50);
    expect(h.watermarks()).toEqual([1002]);
    reader.finished = true;
    op.noMoreSplits();
    expect(op.emitNext()).toBe('end');
    expect(op.emitNext()).toBe('end');
    expect(h.watermarks()).toEqual([1002, Infinity]);
  });

  it('a reader without splits that marks itself idle does not hold back downstream; a new split makes it active', async () => {
    const reader = new TestingReader(true);
    reader.idleWithoutSplits = true;
    const h = await OperatorTestHarness.open(
      { kind: 'source', source: sourceOf(reader), watermarks: WatermarkStrategy.forBoundedOutOfOrderness<Ev>(0).withTimestampAssigner((e) => e.t) },
      { config: { autoWatermarkIntervalMs: 100 } },
    );
    const op = h.operator as SourceStreamOperator;
    expect(op.emitNext()).toBe('nothing');
    expect(h.output.statuses).toEqual([true]);
    h.setProcessingTime(500);
    expect(h.watermarks()).toEqual([]);
    op.addSplits([{ splitId: 'new' }]);
    reader.queue('new', { t: 70, s: 'new' });
    op.emitNext();
    h.setProcessingTime(600);
    expect(h.output.statuses).toEqual([true, false]);
    expect(h.watermarks()).toEqual([69]);
    reader.finished = true;
    op.noMoreSplits();
    await h.end();
  });
});
