import {
  ValueStateDescriptor,
  type KeyedCoProcessFunction,
  type KeyedProcessContext,
  type OnTimerContext,
  type OperatorSpec,
  type RuntimeContext,
  type ValueState,
} from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { OperatorTestHarness } from './testing.js';

describe('CoProcessOperator', () => {
  it('routes each input to its method and emits the minimum watermark of active inputs', async () => {
    const spec: OperatorSpec = {
      kind: 'coProcess',
      fn: {
        processElement1: (v: string, _ctx, out) => out.collect(`left ${v}`),
        processElement2: (v: string, ctx, out) => out.collect(`right ${v}@${ctx.timestamp()}`),
      },
    };
    const h = await OperatorTestHarness.open(spec);
    h.processElement('x', 1, 0);
    h.processElement('y', 2, 1);
    expect(h.values()).toEqual(['left x', 'right y@2']);
    h.processWatermark(10, 0);
    expect(h.watermarks()).toEqual([]); // input 1 has no watermark yet
    h.processWatermark(5, 1);
    expect(h.watermarks()).toEqual([5]);
    h.processWatermark(20, 1);
    expect(h.watermarks()).toEqual([5, 10]);
    h.processWatermarkStatus(true, 0); // idle input 0 no longer holds back the minimum
    expect(h.watermarks()).toEqual([5, 10, 20]);
    expect(h.output.statuses).toEqual([]);
    h.processWatermarkStatus(true, 1);
    expect(h.output.statuses).toEqual([true]);
    h.processWatermarkStatus(false, 0);
    expect(h.output.statuses).toEqual([true, false]);
    h.processWatermark(15, 0); // active again but behind: the output never goes back
    h.processWatermark(30, 0);
    expect(h.watermarks()).toEqual([5, 10, 20, 30]);
    h.processWatermark(Infinity, 1);
    h.processWatermark(Infinity, 0);
    expect(h.watermarks()).toEqual([5, 10, 20, 30, Infinity]);
  });
});

describe('KeyedCoProcessOperator', () => {
  it('joins two inputs on a shared key with state and fires timers on the combined watermark', async () => {
    class Join implements KeyedCoProcessFunction<string, { id: string; name: string }, { id: string; amount: number }, string> {
      name!: ValueState<string>;
      open(ctx: RuntimeContext): void {
        this.name = ctx.getState(new ValueStateDescriptor<string>('name'));
      }
      processElement1(v: { id: string; name: string }, ctx: KeyedProcessContext<string>): void {
        this.name.update(v.name);
        ctx.timerService().registerEventTimeTimer(100);
      }
      processElement2(v: { id: string; amount: number }, _ctx: unknown, out: { collect(v: string): void }): void {
        out.collect(`${this.name.value() ?? '?'} paid ${v.amount}`);
      }
      onTimer(ts: number, ctx: OnTimerContext<string>, out: { collect(v: string): void }): void {
        out.collect(`expire ${ctx.getCurrentKey()}@${ts} (${ctx.timeDomain()})`);
        this.name.clear();
      }
    }
    const spec: OperatorSpec = { kind: 'keyedCoProcess', keySelector1: (u: { id: string }) => u.id, keySelector2: (p: { id: string }) => p.id, fn: new Join() };
    const h = await OperatorTestHarness.open(spec);
    h.processElement({ id: 'u1', name: 'Ann' }, 1, 0);
    h.processElement({ id: 'u1', amount: 5 }, 2, 1);
    h.processElement({ id: 'u2', amount: 7 }, 3, 1);
    h.processWatermark(150, 0);
    expect(h.values()).toEqual(['Ann paid 5', '? paid 7']);
    h.processWatermark(120, 1);
    expect(h.records().slice(2)).toEqual([{ value: 'expire u1@100 (event)', timestamp: 100 }]);
    expect(h.watermarks()).toEqual([120]);
    h.processElement({ id: 'u1', amount: 9 }, 130, 1);
    expect(h.values().slice(3)).toEqual(['? paid 9']);
  });
});
