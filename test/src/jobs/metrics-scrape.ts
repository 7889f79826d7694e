/**
 * An endless, rate-limited keyed job for the Prometheus scrape test: records keep flowing while
 * Prometheus scrapes, so counters must grow between two queries. generator → keyBy → a keyed
 * running count (ValueState) → a sink that drops everything (nothing piles up in memory).
 * Params: rate (records per second over all source subtasks, default 2000), keys (default 100).
 */
import {
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type Sink,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';

export const METRICS_SCRAPE_JOB_NAME = 'metrics scrape';

interface Reading {
  key: string;
  value: number;
}

class RunningCount implements KeyedProcessFunction<string, Reading, { key: string; count: number }> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(r: Reading, _ctx: KeyedProcessContext<string>, out: Collector<{ key: string; count: number }>): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    out.collect({ key: r.key, count });
  }
}

const discard: Sink<unknown> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
  describe: () => 'discard',
};

export default function build(env: StreamExecutionEnvironment): void {
  const rate = Number(env.params.rate ?? '2000');
  const keys = Number(env.params.keys ?? '100');
  env.setJobName(METRICS_SCRAPE_JOB_NAME);
  env
    .fromGenerator<Reading>({
      ratePerSecond: rate,
      seed: 3,
      name: 'readings',
      generate: (_seq, rng) => ({ key: `k${rng.nextInt(keys)}`, value: rng.nextInt(100) }),
    })
    .keyBy((r) => r.key)
    .process(new RunningCount())
    .name('running count')
    .sinkTo(discard)
    .name('discard');
}
