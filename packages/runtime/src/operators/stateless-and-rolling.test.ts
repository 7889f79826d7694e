import { OutputTag, WatermarkStrategy, type OperatorSpec } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { OperatorTestHarness } from './testing.js';

describe('stateless operators', () => {
  it('map, filter and flatMap keep timestamps (and their absence) and forward watermarks and idleness', async () => {
    const map = await OperatorTestHarness.open({ kind: 'map', fn: (v: number) => v * 2 });
    map.processElement(1, 10);
    map.processElement(2);
    map.processWatermark(5);
    map.processWatermarkStatus(true);
    expect(map.output.events).toEqual([
      { type: 'record', value: 2, timestamp: 10 },
      { type: 'record', value: 4, timestamp: undefined },
      { type: 'watermark', watermark: 5 },
      { type: 'status', idle: true },
    ]);
    const filter = await OperatorTestHarness.open({ kind: 'filter', fn: (v: number) => v % 2 === 0 });
    for (let i = 0; i < 5; i++) filter.processElement(i, i);
    expect(filter.records()).toEqual([
      { value: 0, timestamp: 0 },
      { value: 2, timestamp: 2 },
      { value: 4, timestamp: 4 },
    ]);
    const flat = await OperatorTestHarness.open({ kind: 'flatMap', fn: (s: string, out) => s.split(' ').forEach((w) => out.collect(w)) });
    flat.processElement('a b', 7);
    flat.processElement('c');
    expect(flat.records()).toEqual([
      { value: 'a', timestamp: 7 },
      { value: 'b', timestamp: 7 },
      { value: 'c', timestamp: undefined },
    ]);
  });

  it('process functions see timestamps and watermarks, emit side outputs and may not register timers', async () => {
    const odd = new OutputTag<number>('odd');
    const spec: OperatorSpec = {
      kind: 'process',
      fn: {
        processElement(v: number, ctx, out) {
          if (v % 2 === 1) ctx.output(odd, v);
          else out.collect(`${v}@${ctx.timestamp()} wm=${ctx.timerService().currentWatermark()}`);
          if (v === 99) ctx.timerService().registerEventTimeTimer(5);
        },
      },
    };
    const h = await OperatorTestHarness.open(spec, { name: 'split' });
    h.processElement(2, 1);
    h.processWatermark(3);
    h.processElement(3, 4);
    h.processElement(4, 5);
    expect(h.values()).toEqual(['2@1 wm=-Infinity', '4@5 wm=3']);
    expect(h.output.sideOutputs.get('odd')).toEqual([{ value: 3, timestamp: 4 }]);
    expect(() => h.processElement(99, 1)).toThrow(/operator 'split' used timers on a non-keyed stream/);
  });
});

describe('rolling keyed operators', () => {
  it('reduce emits the running reduction per key', async () => {
    const h = await OperatorTestHarness.open({ kind: 'reduce', keySelector: (e: [string, number]) => e[0], fn: (a: [string, number], b: [string, number]) => [a[0], a[1] + b[1]] });
    h.processElement(['a', 1], 1);
    h.processElement(['b', 5], 2);
    h.processElement(['a', 2], 3);
    h.processElement(['a', 3]);
    expect(h.records()).toEqual([
      { value: ['a', 1], timestamp: 1 },
      { value: ['b', 5], timestamp: 2 },
      { value: ['a', 3], timestamp: 3 },
      { value: ['a', 6], timestamp: undefined },
    ]);
  });

  it('aggregate emits getResult of the running accumulator per key', async () => {
    const h = await OperatorTestHarness.open({
      kind: 'aggregate',
      keySelector: (e: { user: string; amount: number }) => e.user,
      fn: {
        createAccumulator: () => ({ n: 0, total: 0 }),
        add: (e: { amount: number }, acc: { n: number; total: number }) => ({ n: acc.n + 1, total: acc.total + e.amount }),
        getResult: (acc: { n: number; total: number }) => acc.total / acc.n,
      },
    });
    h.processElement({ user: 'ann', amount: 10 }, 1);
    h.processElement({ user: 'bob', amount: 3 }, 1);
    h.processElement({ user: 'ann', amount: 20 }, 2);
    expect(h.values()).toEqual([10, 3, 15]);
  });
});

describe('timestampsAndWatermarks', () => {
  it('stamps records, emits periodic watermarks, goes idle and forwards only the final +Infinity', async () => {
    const strategy = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(5)
      .withTimestampAssigner((e) => e.t)
      .withIdleness(1000);
    const h = await OperatorTestHarness.open({ kind: 'timestampsAndWatermarks', watermarks: strategy }, { config: { autoWatermarkIntervalMs: 200 } });
    h.processElement({ t: 100 }, 1);
    h.processElement({ t: 90 });
    expect(h.records()).toEqual([
      { value: { t: 100 }, timestamp: 100 },
      { value: { t: 90 }, timestamp: 90 },
    ]);
    h.processWatermark(50); // upstream watermarks are replaced by ours
    h.setProcessingTime(199);
    expect(h.watermarks()).toEqual([]);
    h.setProcessingTime(200);
    expect(h.watermarks()).toEqual([94]);
    h.processElement({ t: 130 });
    h.setProcessingTime(400);
    h.setProcessingTime(600); // no progress: no duplicate watermark
    expect(h.watermarks()).toEqual([94, 124]);
    h.setProcessingTime(1400); // 1000 ms without events
    expect(h.output.statuses).toEqual([true]);
    h.processElement({ t: 131 }); // activity ends idleness
    expect(h.output.statuses).toEqual([true, false]);
    h.processWatermark(Infinity);
    expect(h.watermarks()).toEqual([94, 124, Infinity]);
    await h.end();
    expect(h.time.pending()).toBe(0);
  });
});
