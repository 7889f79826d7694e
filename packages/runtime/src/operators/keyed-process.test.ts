import {
  OutputTag,
  ValueStateDescriptor,
  type KeyedProcessFunction,
  type OperatorSpec,
  type RuntimeContext,
  type ValueState,
} from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { OperatorTestHarness } from './testing.js';

interface Ev {
  k: string;
  v: number;
}

const negatives = new OutputTag<Ev>('negatives');

/** Counts per key; reports the count 10 ms (event time) and 100 ms (processing time) later. */
class CountWithTimeouts implements KeyedProcessFunction<string, Ev, string> {
  count!: ValueState<number>;
  opened = 0;
  closed = 0;
  open(ctx: RuntimeContext): void {
    this.opened++;
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
  }
  close(): void {
    this.closed++;
  }
  processElement(value: Ev, ctx: Parameters<KeyedProcessFunction<string, Ev, string>['processElement']>[1]): void {
    if (value.v < 0) {
      ctx.output(negatives, value);
      return;
    }
    this.count.update(this.count.value()! + 1);
    ctx.timerService().registerEventTimeTimer(ctx.timestamp()! + 10);
    ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 100);
  }
  onTimer(timestamp: number, ctx: Parameters<NonNullable<KeyedProcessFunction<string, Ev, string>['onTimer']>>[1], out: { collect(v: string): void }): void {
    out.collect(`${ctx.getCurrentKey()} ${ctx.timeDomain()}@${timestamp} count=${this.count.value()} ts=${ctx.timestamp()}`);
    if (ctx.timeDomain() === 'event' && ctx.getCurrentKey() === 'b') ctx.timerService().deleteProcessingTimeTimer(100);
  }
}

describe('KeyedProcessOperator', () => {
  it('keeps keyed state and fires event and processing timers with their key and domain', async () => {
    const fn = new CountWithTimeouts();
    const spec: OperatorSpec = { kind: 'keyedProcess', keySelector: (e: Ev) => e.k, fn };
    const h = await OperatorTestHarness.open(spec);
    expect(fn.opened).toBe(1);
    h.processElement({ k: 'a', v: 1 }, 5);
    h.processElement({ k: 'b', v: 1 }, 6);
    h.processElement({ k: 'a', v: 2 }, 5); // same timers as the first: deduplicated
    h.processElement({ k: 'a', v: -1 }, 7);
    expect(h.output.sideOutputs.get('negatives')).toEqual([{ value: { k: 'a', v: -1 }, timestamp: 7 }]);
    h.processWatermark(15);
    expect(h.values()).toEqual(['a event@15 count=2 ts=15']);
    h.processWatermark(16);
    expect(h.records().slice(1)).toEqual([{ value: 'b event@16 count=1 ts=16', timestamp: 16 }]);
    h.setProcessingTime(100);
    // b's processing timer was deleted in its event-time onTimer.
    expect(h.records().slice(2)).toEqual([{ value: 'a processing@100 count=2 ts=undefined', timestamp: undefined }]);
    expect(h.watermarks()).toEqual([15, 16]);
    await h.end();
    expect(fn.closed).toBe(1);
  });

  it('gives each of 100,000 keys its own state and timer', async () => {
    class SumAtEnd implements KeyedProcessFunction<number, Ev, string> {
      sum!: ValueState<number>;
      open(ctx: RuntimeContext): void {
        this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', 0));
      }
      processElement(value: Ev, ctx: Parameters<KeyedProcessFunction<number, Ev, string>['processElement']>[1]): void {
        this.sum.update(this.sum.value()! + value.v);
        ctx.timerService().registerEventTimeTimer(1000);
      }
      onTimer(_t: number, ctx: Parameters<NonNullable<KeyedProcessFunction<number, Ev, string>['onTimer']>>[1], out: { collect(v: string): void }): void {
        out.collect(`${ctx.getCurrentKey()}=${this.sum.value()}`);
      }
    }
    const h = await OperatorTestHarness.open({ kind: 'keyedProcess', keySelector: (e: Ev) => Number(e.k), fn: new SumAtEnd() });
    const N = 100_000;
    for (let round = 1; round <= 2; round++) for (let k = 0; k < N; k++) h.processElement({ k: String(k), v: k * round }, round);
    h.processWatermark(1000);
    const out = h.values() as string[];
    expect(out.length).toBe(N);
    expect(out[0]).toBe('0=0');
    expect(out[12345]).toBe(`12345=${12345 * 3}`);
    expect(out[N - 1]).toBe(`${N - 1}=${(N - 1) * 3}`);
  });

  it('refuses keyed state on a non-keyed process function', async () => {
    const spec: OperatorSpec = {
      kind: 'process',
      fn: {
        open(ctx: RuntimeContext) {
          ctx.getState(new ValueStateDescriptor('x'));
        },
        processElement() {},
      },
    };
    await expect(OperatorTestHarness.open(spec, { name: 'enrich' })).rejects.toThrow(/operator 'enrich' asked for keyed state 'x', but its input is not keyed/);
  });
});
