/**
 * Bench job for the cluster's reaction times (cluster-latency.ts): an endless, slow generator →
 * keyBy → a running count per key in ValueState → a discarding sink, checkpointed every 500 ms,
 * restarted at once on failure. Small on purpose: what is measured is scheduling, not work.
 */
import {
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type Sink,
  type SinkWriter,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';

const discard: Sink<number> = {
  createWriter: (): SinkWriter<number> => ({ write: () => undefined, flush: () => undefined, close: () => undefined }),
  describe: () => 'discard',
};

class CountPerKey implements KeyedProcessFunction<number, number, number> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(_n: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect(c);
  }
}

export default function clusterKeyed(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-cluster-keyed');
  env.enableCheckpointing(500);
  env.setRestartStrategy({ type: 'fixed-delay', attempts: 1000, delayMs: 0 });
  env
    .fromGenerator<number>({ name: 'numbers', ratePerSecond: 1000, generate: (i) => i })
    .uid('numbers')
    .keyBy((n) => n % 16)
    .process(new CountPerKey())
    .uid('count')
    .sinkTo(discard);
}
