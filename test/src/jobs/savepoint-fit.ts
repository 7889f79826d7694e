/**
 * Two jobs in one file that reuse the same operator uids, for restoring one's savepoint into the
 * other: a source (uid 'src') of `keys` keys, a keyed operator (uid 'p') that counts records per
 * key, a map, and a collect sink ('counts') of { key, count } per record.
 * Params: name (job name, default 'fit A'); source ('generator', default, or 'collection');
 * p ('process', default: a KeyedProcessFunction whose state 'count' is a ValueState, or a
 * ListState with state=list; 'reduce': a rolling reduce); events (records; unbounded if absent);
 * rate (records per second); keys (default 4).
 */
import { ListStateDescriptor, ValueStateDescriptor, type KeyedProcessFunction, type ListState, type RuntimeContext, type StreamExecutionEnvironment, type ValueState } from '@sluice/api';

export interface Counted {
  key: number;
  count: number;
}

class CountWithValue implements KeyedProcessFunction<number, number, Counted> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(n: number, ctx: { getCurrentKey(): number }, out: { collect(c: Counted): void }): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    out.collect({ key: ctx.getCurrentKey(), count });
  }
}

class CountWithList implements KeyedProcessFunction<number, number, Counted> {
  private seen!: ListState<number>;
  open(ctx: RuntimeContext): void {
    this.seen = ctx.getListState(new ListStateDescriptor<number>('count'));
  }
  processElement(n: number, ctx: { getCurrentKey(): number }, out: { collect(c: Counted): void }): void {
    this.seen.add(n);
    out.collect({ key: ctx.getCurrentKey(), count: this.seen.get().length });
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  const keys = Number(p.keys ?? '4');
  const events = p.events === undefined ? undefined : Number(p.events);
  env.setJobName(p.name ?? 'fit A');
  const numbers =
    p.source === 'collection'
      ? env.fromCollection(Array.from({ length: events ?? 100 }, (_, i) => i), 'Source: numbers')
      : env.fromGenerator<number>({ ...(events === undefined ? {} : { count: events }), ...(p.rate === undefined ? {} : { ratePerSecond: Number(p.rate) }), name: 'numbers', generate: (i) => i });
  const source = numbers.uid('src');
  const counted =
    p.p === 'reduce'
      ? source
          .map((n) => ({ key: n % keys, count: 1 }))
          .keyBy((c) => c.key)
          .reduce((a, b) => ({ key: a.key, count: a.count + b.count }))
          .uid('p')
          .name('counter')
      : source
          .keyBy((n) => n % keys)
          .process(p.state === 'list' ? new CountWithList() : new CountWithValue())
          .uid('p')
          .name('counter');
  counted.map((c) => ({ key: c.key, count: c.count })).collect('counts');
}
