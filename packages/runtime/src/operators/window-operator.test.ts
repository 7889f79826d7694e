import {
  EventTimeSessionWindows,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  type AggregateFunction,
  type OperatorSpec,
  type ProcessWindowFunction,
  type WindowAssigner,
  type WindowFunctionSpec,
} from '@sluice/api';
import { ConfigurationError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { createOperator } from './factory.js';
import { OperatorTestHarness } from './testing.js';
import { HeapKeyedStateBackend } from '../state/heap-backend.js';
import { KeyedStateSnapshot } from '../state/keyed-snapshot.js';
import type { WindowOperator } from './window-operator.js';

interface Ev {
  k: string;
  v: number;
}

const byKey = (e: Ev): string => e.k;
const sum: WindowFunctionSpec = { type: 'reduce', reduce: (a: Ev, b: Ev) => ({ k: a.k, v: a.v + b.v }) };
const count: AggregateFunction<Ev, number, number> = {
  createAccumulator: () => 0,
  add: (_v, acc) => acc + 1,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};
/** Renders "key [start,end): result…" so tests can see which window fired. */
const describeWindow: ProcessWindowFunction<unknown, string, string> = {
  process(key, ctx, elements, out) {
    const items = [...elements].map((e) => (typeof e === 'object' && e !== null ? (e as Ev).v : e)).sort((a, b) => Number(a) - Number(b));
    out.collect(`${key} [${ctx.window().start},${ctx.window().end}): ${items.join(',')}`);
  },
};

function windowSpec(assigner: WindowAssigner, fn: WindowFunctionSpec, allowedLatenessMs = 0, lateDataTag?: string): OperatorSpec {
  const spec: OperatorSpec = { kind: 'window', keySelector: byKey, assigner, allowedLatenessMs, function: fn };
  if (lateDataTag !== undefined) spec.lateDataTag = lateDataTag;
  return spec;
}

describe('WindowOperator, event time', () => {
  it('fires tumbling windows when the watermark passes their end, despite out-of-order input, and drops late records', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingEventTimeWindows.of(10), sum));
    h.processElement({ k: 'a', v: 1 }, 1);
    h.processElement({ k: 'a', v: 2 }, 5);
    h.processElement({ k: 'b', v: 10 }, 3);
    h.processElement({ k: 'a', v: 4 }, 12);
    h.processElement({ k: 'a', v: 8 }, 7); // out of order, window still open
    h.processWatermark(8);
    expect(h.records()).toEqual([]);
    h.processWatermark(9);
    expect(h.records()).toEqual([
      { value: { k: 'a', v: 11 }, timestamp: 9 },
      { value: { k: 'b', v: 10 }, timestamp: 9 },
    ]);
    h.processElement({ k: 'a', v: 16 }, 2); // window [0,10) is gone
    expect(h.metrics.lateRecordsDropped).toBe(1);
    h.processWatermark(20);
    expect(h.records().slice(2)).toEqual([{ value: { k: 'a', v: 4 }, timestamp: 19 }]);
    expect(h.watermarks()).toEqual([8, 9, 20]);
    expect(h.output.events.map((e) => e.type)).toEqual(['watermark', 'record', 'record', 'watermark', 'record', 'watermark']);
  });

  it('assigns sliding windows and passes aggregates through a ProcessWindowFunction', async () => {
    const h = await OperatorTestHarness.open(windowSpec(SlidingEventTimeWindows.of(10, 5), { type: 'aggregate', aggregate: count, window: describeWindow }));
    h.processElement({ k: 'a', v: 0 }, 1);
    h.processElement({ k: 'a', v: 0 }, 11);
    h.processElement({ k: 'a', v: 0 }, 6);
    h.processWatermark(30);
    expect(h.records()).toEqual([
      { value: 'a [-5,5): 1', timestamp: 4 },
      { value: 'a [0,10): 2', timestamp: 9 },
      { value: 'a [5,15): 2', timestamp: 14 },
      { value: 'a [10,20): 1', timestamp: 19 },
    ]);
  });

  it('re-fires a window for each late record within the allowed lateness, then cleans up and side-outputs later ones', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingEventTimeWindows.of(10), sum, 5, 'late'));
    const op = h.operator as WindowOperator;
    h.processElement({ k: 'a', v: 1 }, 1);
    h.processWatermark(9);
    h.processElement({ k: 'a', v: 2 }, 3); // late but within lateness: fires again at once
    expect(h.records()).toEqual([
      { value: { k: 'a', v: 1 }, timestamp: 9 },
      { value: { k: 'a', v: 3 }, timestamp: 9 },
    ]);
    expect(op.backend.stateSize('__sluice.window-contents')).toBe(1);
    h.processWatermark(14); // maxTimestamp 9 + lateness 5: state dropped
    expect(op.backend.stateSize('__sluice.window-contents')).toBe(0);
    h.processElement({ k: 'a', v: 4 }, 4);
    expect(h.output.sideOutputs.get('late')).toEqual([{ value: { k: 'a', v: 4 }, timestamp: 4 }]);
    expect(h.metrics.lateRecordsDropped).toBe(0);
    h.processElement({ k: 'a', v: 100 }, 15);
    h.processWatermark(30);
    expect(h.records().slice(2)).toEqual([{ value: { k: 'a', v: 100 }, timestamp: 19 }]);
    expect(op.backend.stateSize('__sluice.window-contents')).toBe(0);
    expect(op.timers.numEventTimers()).toBe(0);
  });

  it('merges session windows per key, including two sessions bridged by one element', async () => {
    const h = await OperatorTestHarness.open(windowSpec(EventTimeSessionWindows.withGap(10), { type: 'process', window: describeWindow }));
    const op = h.operator as WindowOperator;
    h.processElement({ k: 'a', v: 0 }, 0); // [0,10)
    h.processElement({ k: 'a', v: 18 }, 18); // [18,28)
    h.processElement({ k: 'b', v: 2 }, 2); // [2,12)
    h.processElement({ k: 'b', v: 5 }, 5); // extends to [2,15)
    h.processElement({ k: 'a', v: 9 }, 9); // [9,19) bridges a's sessions into [0,28)
    h.processWatermark(13);
    expect(h.values()).toEqual([]);
    h.processWatermark(14);
    expect(h.records()).toEqual([{ value: 'b [2,15): 2,5', timestamp: 14 }]);
    h.processWatermark(27);
    expect(h.records().slice(1)).toEqual([{ value: 'a [0,28): 0,9,18', timestamp: 27 }]);
    expect(op.backend.stateSize('__sluice.window-contents')).toBe(0);
    expect(op.backend.stateSize('__sluice.session-windows')).toBe(0);
    expect(op.timers.numEventTimers()).toBe(0);
  });

  it('merges aggregate accumulators of session windows with AggregateFunction.merge', async () => {
    const h = await OperatorTestHarness.open(windowSpec(EventTimeSessionWindows.withGap(10), { type: 'aggregate', aggregate: count }));
    h.processElement({ k: 'a', v: 0 }, 0);
    h.processElement({ k: 'a', v: 0 }, 3);
    h.processElement({ k: 'a', v: 0 }, 20);
    h.processElement({ k: 'a', v: 0 }, 11); // bridges [0,13) and [20,30)
    h.processWatermark(100);
    expect(h.records()).toEqual([{ value: 4, timestamp: 29 }]);
  });

  it('refuses an aggregate without merge on session windows', () => {
    const { merge: _unused, ...noMerge } = count;
    expect(() => createOperator(windowSpec(EventTimeSessionWindows.withGap(10), { type: 'aggregate', aggregate: noMerge }), 'sessions')).toThrow(ConfigurationError);
    expect(() => createOperator(windowSpec(EventTimeSessionWindows.withGap(10), { type: 'aggregate', aggregate: noMerge }), 'sessions')).toThrow(/no merge\(a, b\)/);
  });

  it('fails clearly on a record without timestamp', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingEventTimeWindows.of(10), sum), { name: 'counts' });
    expect(() => h.processElement({ k: 'a', v: 1 })).toThrow(/window operator 'counts'.*without a timestamp/);
  });
});

describe('WindowOperator, processing time', () => {
  it('fires on processing-time timers and stamps results with the window end', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingProcessingTimeWindows.of(100), { type: 'aggregate', aggregate: count }), { startTime: 0 });
    h.setProcessingTime(10);
    h.processElement({ k: 'a', v: 0 });
    h.setProcessingTime(50);
    h.processElement({ k: 'a', v: 0 });
    h.processElement({ k: 'b', v: 0 }, 123456); // event time is ignored
    h.setProcessingTime(98);
    expect(h.records()).toEqual([]);
    h.setProcessingTime(99);
    expect(h.records()).toEqual([
      { value: 2, timestamp: 99 },
      { value: 1, timestamp: 99 },
    ]);
    h.setProcessingTime(150);
    h.processElement({ k: 'a', v: 0 });
    h.setProcessingTime(250);
    expect(h.records().slice(2)).toEqual([{ value: 1, timestamp: 199 }]);
    expect((h.operator as WindowOperator).backend.stateSize('__sluice.window-contents')).toBe(0);
  });
});

describe('WindowOperator, checkpoint and restore', () => {
  const aggregate = (window?: ProcessWindowFunction<unknown, string, string>): WindowFunctionSpec => (window === undefined ? { type: 'aggregate', aggregate: count } : { type: 'aggregate', aggregate: count, window });

  /** Captures the operator's keyed state as a checkpoint does, and opens a fresh operator on it. */
  async function restoreCopy(h: OperatorTestHarness, spec: OperatorSpec): Promise<{ restored: OperatorTestHarness; timersInCheckpoint: number }> {
    const op = h.operator as WindowOperator;
    const snap = new KeyedStateSnapshot(op.backend, op.timers);
    snap.complete();
    const keyGroups = snap.sections();
    const probe = new HeapKeyedStateBackend(128, { start: 0, end: 127 }, 'probe');
    for (const g of keyGroups) probe.restoreSerializedGroup(g.keyGroup, g.bytes);
    const timersInCheckpoint = probe.takeRestoredTimers().reduce((n, t) => n + t.event.length + t.processing.length, 0);
    const restored = await OperatorTestHarness.open(spec, { startTime: h.time.now(), restored: { keyGroups, operatorState: [] } });
    return { restored, timersInCheckpoint };
  }

  it('leaves the timers of windows without lateness out of checkpoints and rebuilds them from the contents', async () => {
    const spec = windowSpec(SlidingEventTimeWindows.of(10, 5), aggregate(describeWindow));
    const h = await OperatorTestHarness.open(spec);
    h.processWatermark(0);
    for (const [k, t] of [['a', 1], ['a', 6], ['b', 7], ['a', 12]] as const) h.processElement({ k, v: 0 }, t);
    h.processWatermark(4); // fires [-5,5) for a
    const { restored, timersInCheckpoint } = await restoreCopy(h, spec);
    expect(timersInCheckpoint).toBe(0);
    restored.processWatermark(100);
    h.processWatermark(100);
    // Timers of one timestamp fire in no promised order across a restore (as in Flink).
    const sorted = (xs: unknown[]): unknown[] => [...xs].map(String).sort();
    expect(sorted(restored.values())).toEqual(sorted(['a [0,10): 2', 'b [0,10): 1', 'a [5,15): 2', 'b [5,15): 1', 'a [10,20): 1']));
    expect(sorted(restored.values())).toEqual(sorted(h.values().slice(1)));
    expect(restored.records().map((r) => r.timestamp)).toEqual([9, 9, 14, 14, 19]);
  });

  it('rebuilds processing-time window timers too', async () => {
    const spec = windowSpec(TumblingProcessingTimeWindows.of(100), aggregate());
    const h = await OperatorTestHarness.open(spec, { startTime: 10 });
    h.processElement({ k: 'a', v: 0 });
    h.processElement({ k: 'a', v: 0 });
    const { restored, timersInCheckpoint } = await restoreCopy(h, spec);
    expect(timersInCheckpoint).toBe(0);
    restored.setProcessingTime(98);
    expect(restored.values()).toEqual([]);
    restored.setProcessingTime(99);
    expect(restored.records()).toEqual([{ value: 2, timestamp: 99 }]);
  });

  it('checkpoints timers once a key is an object, so the window function still gets the original key', async () => {
    const keys: unknown[] = [];
    const spec: OperatorSpec = {
      kind: 'window',
      keySelector: (e: Ev) => ({ user: e.k }),
      assigner: TumblingEventTimeWindows.of(10),
      allowedLatenessMs: 0,
      function: { type: 'aggregate', aggregate: count, window: { process: (key, _ctx, counts, out) => { keys.push(key); for (const c of counts) out.collect(c); } } },
    };
    const h = await OperatorTestHarness.open(spec);
    h.processElement({ k: 'a', v: 0 }, 1);
    const { restored, timersInCheckpoint } = await restoreCopy(h, spec);
    expect(timersInCheckpoint).toBe(1);
    restored.processWatermark(9);
    expect(restored.values()).toEqual([1]);
    expect(keys).toEqual([{ user: 'a' }]);
  });

  it('checkpoints timers of windows with allowed lateness (their cleanup timers outlive the firing)', async () => {
    const spec = windowSpec(TumblingEventTimeWindows.of(10), aggregate(), 5);
    const h = await OperatorTestHarness.open(spec);
    h.processElement({ k: 'a', v: 0 }, 1);
    h.processWatermark(9); // fires; the cleanup timer at 14 remains
    const { restored, timersInCheckpoint } = await restoreCopy(h, spec);
    expect(timersInCheckpoint).toBe(1);
    restored.processWatermark(10);
    restored.processElement({ k: 'a', v: 0 }, 2); // late, within lateness: fires again with 2
    expect(restored.values()).toEqual([2]);
    restored.processWatermark(14);
    restored.processElement({ k: 'a', v: 0 }, 3);
    expect(restored.values()).toEqual([2]);
    expect((restored.operator as WindowOperator).backend.stateSize('__sluice.window-contents')).toBe(0);
  });

  it('a savepoint of windows without lateness (no timers stored) restores into windows with lateness: each fires once, then is cleaned up', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingEventTimeWindows.of(10), aggregate()));
    h.processElement({ k: 'a', v: 0 }, 1);
    h.processElement({ k: 'b', v: 0 }, 12);
    const { restored, timersInCheckpoint } = await restoreCopy(h, windowSpec(TumblingEventTimeWindows.of(10), aggregate(), 5));
    expect(timersInCheckpoint).toBe(0);
    restored.processWatermark(9);
    expect(restored.records()).toEqual([{ value: 1, timestamp: 9 }]);
    restored.processElement({ k: 'a', v: 0 }, 3); // late, within lateness: the window has its contents and fires again
    expect(restored.values()).toEqual([1, 2]);
    restored.processWatermark(30);
    expect(restored.values()).toEqual([1, 2, 1]);
    expect((restored.operator as WindowOperator).backend.stateSize('__sluice.window-contents')).toBe(0);
  });

  it('a savepoint of windows with lateness restores into windows without: nothing fires twice and nothing is left behind', async () => {
    const h = await OperatorTestHarness.open(windowSpec(TumblingEventTimeWindows.of(10), aggregate(), 5));
    h.processElement({ k: 'a', v: 0 }, 1);
    h.processElement({ k: 'b', v: 0 }, 12);
    h.processWatermark(9); // [0,10) fires for a and waits for its cleanup at 14
    expect(h.values()).toEqual([1]);
    const { restored } = await restoreCopy(h, windowSpec(TumblingEventTimeWindows.of(10), aggregate()));
    restored.processWatermark(30);
    expect(restored.values()).toEqual([1]);
    expect(restored.records()).toEqual([{ value: 1, timestamp: 19 }]);
  });
});
