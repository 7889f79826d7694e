/**
 * Keyed state and partitioning under parallelism. A deterministic generator produces `events`
 * records over `keys` keys; a KeyedProcessFunction keeps a count (ValueState), the values of
 * the three highest sequence numbers (ListState), per-bucket sums (MapState), a running max (ReducingState) and an average
 * (AggregatingState), and reports every key's final state with the subtask that held it when the
 * event-time timer at the end of input fires.
 * Params: events (default 100000), keys (default 1000), slowSinkMs (per-record delay in the
 * sink, default 0), unbounded ('true' for an endless source).
 */
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  WatermarkStrategy,
  type AggregatingState,
  type KeyedProcessFunction,
  type ListState,
  type MapState,
  type ReducingState,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';

interface Event {
  key: string;
  seq: number;
  value: number;
}

export interface KeyReport {
  key: string;
  subtask: number;
  count: number;
  last: number[];
  buckets: Record<string, number>;
  max: number;
  avg: number;
}

class KeyStats implements KeyedProcessFunction<string, Event, KeyReport> {
  private count!: ValueState<number>;
  private last!: ListState<readonly [number, number]>;
  private buckets!: MapState<string, number>;
  private max!: ReducingState<number>;
  private avg!: AggregatingState<number, number>;
  private subtask = -1;

  open(ctx: RuntimeContext): void {
    this.subtask = ctx.getTaskInfo().subtaskIndex;
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
    this.last = ctx.getListState(new ListStateDescriptor<readonly [number, number]>('last'));
    this.buckets = ctx.getMapState(new MapStateDescriptor<string, number>('buckets'));
    this.max = ctx.getReducingState(new ReducingStateDescriptor<number>('max', (a, b) => Math.max(a, b)));
    this.avg = ctx.getAggregatingState(
      new AggregatingStateDescriptor<number, { sum: number; n: number }, number>('avg', {
        createAccumulator: () => ({ sum: 0, n: 0 }),
        add: (v, acc) => ({ sum: acc.sum + v, n: acc.n + 1 }),
        getResult: (acc) => acc.sum / acc.n,
      }),
    );
  }

  processElement(e: Event, ctx: Parameters<KeyedProcessFunction<string, Event, KeyReport>['processElement']>[1]): void {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    // Keep the values of the three highest sequence numbers: deterministic whatever order the
    // parallel source splits' records interleave in.
    const last = [...this.last.get(), [e.seq, e.value] as const].sort((x, y) => x[0] - y[0]).slice(-3);
    this.last.update(last);
    const bucket = `b${e.value % 3}`;
    this.buckets.put(bucket, (this.buckets.get(bucket) ?? 0) + e.value);
    this.max.add(e.value);
    this.avg.add(e.value);
    if (c === 1) ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER);
  }

  onTimer(_ts: number, ctx: Parameters<NonNullable<KeyedProcessFunction<string, Event, KeyReport>['onTimer']>>[1], out: { collect(r: KeyReport): void }): void {
    const buckets: Record<string, number> = {};
    for (const [k, v] of this.buckets.entries()) buckets[k] = v;
    out.collect({
      key: ctx.getCurrentKey(),
      subtask: this.subtask,
      count: this.count.value() ?? 0,
      last: this.last.get().map(([, v]) => v),
      buckets,
      max: this.max.get() ?? NaN,
      avg: this.avg.get() ?? NaN,
    });
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  const events = Number(env.params.events ?? '100000');
  const keys = Number(env.params.keys ?? '1000');
  const slowSinkMs = Number(env.params.slowSinkMs ?? '0');
  const unbounded = env.params.unbounded === 'true';
  env.setJobName('keyed state');
  const source = env.fromGenerator<Event>({
    ...(unbounded ? {} : { count: events }),
    seed: 7,
    name: 'events',
    generate: (seq, rng) => ({ key: `k${rng.nextInt(keys)}`, seq, value: rng.nextInt(1000) }),
  });
  const reports = source
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e.seq))
    .keyBy((e) => e.key)
    .process(new KeyStats())
    .name('key stats');
  if (slowSinkMs > 0) {
    reports
      .map((r) => {
        const until = Date.now() + slowSinkMs;
        while (Date.now() < until) {
          // A deliberately slow consumer: backpressure must stop the source, not fill memory.
        }
        return r;
      })
      .name('slow')
      .collect('reports');
  } else {
    reports.collect('reports');
  }
}
