import { describe, expect, it } from 'vitest';
import type { Collector, Counter, Histogram, KeyedProcessFunction, ProcessContext, ProcessFunction, RuntimeContext, Sink } from '@sluice/api';
import { OperatorTestHarness } from './testing.js';

describe('custom metrics of operators', () => {
  it('gives user functions their operator group through RuntimeContext.getMetricGroup()', async () => {
    class Scorer implements ProcessFunction<number, number> {
      private flagged!: Counter<'reason'>;
      open(ctx: RuntimeContext): void {
        this.flagged = ctx.getMetricGroup().counter('fraud_flagged_total', 'Transactions flagged.', ['reason']);
      }
      processElement(v: number, _ctx: ProcessContext, out: Collector<number>): void {
        if (v > 100) this.flagged.inc(1, { reason: 'amount' });
        out.collect(v);
      }
    }
    const h = await OperatorTestHarness.open({ kind: 'process', fn: new Scorer() }, { name: 'score' });
    for (const v of [5, 500, 700]) h.processElement(v);
    expect(h.customMetrics.read()).toEqual([{ operator: 'score', name: 'sluice_fraud_flagged_total', labels: { reason: 'amount' }, values: [2] }]);
  });

  it('gives keyed functions and sink writers the group too', async () => {
    class Counting implements KeyedProcessFunction<string, string, string> {
      open(ctx: RuntimeContext): void {
        ctx.getMetricGroup().gauge('open_functions', 'Functions opened.').inc();
      }
      processElement(): void {}
    }
    const keyed = await OperatorTestHarness.open({ kind: 'keyedProcess', keySelector: (s: string) => s, fn: new Counting() }, { name: 'count' });
    expect(keyed.customMetrics.read()).toEqual([{ operator: 'count', name: 'sluice_open_functions', labels: {}, values: [1] }]);

    let sizes: Histogram | undefined;
    const sink: Sink<string> = {
      createWriter: (ctx) => {
        sizes = ctx.metrics.histogram('record_size_bytes', 'Bytes per record.', [4, 16]);
        return { write: (v) => sizes!.observe(v.length), flush: () => {}, close: () => {} };
      },
    };
    const h = await OperatorTestHarness.open({ kind: 'sink', sink }, { name: 'Sink: out' });
    for (const v of ['ab', 'abcdefgh', 'x'.repeat(40)]) h.processElement(v);
    expect(h.customMetrics.read()).toEqual([{ operator: 'Sink: out', name: 'sluice_record_size_bytes', labels: {}, values: [1, 2, 50, 3] }]);
  });
});
