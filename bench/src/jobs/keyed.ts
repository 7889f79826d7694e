/**
 * Bench job: generator → keyBy → keyed process (a running sum in ValueState) → measuring sink.
 * The smallest pipeline that exercises a shuffle, keyed state and a sink; the harness runs it at
 * full speed, paced at half that rate, and paced at 10,000 events/s for latency.
 *
 * Params: events, rate (events/s; unpaced when absent), keys (default 10,000), statsDir,
 * latencySampleEvery (default 256 unpaced, 1 when paced ≤ 100,000/s), warmupEvents.
 */
import {
  ValueStateDescriptor,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';
import { createStamper, querySink, ThroughputProbe } from '@sluice/examples/nexmark';
import { intParam, optionalNumber, statsDirOf } from './params.js';

interface KeyedEvent {
  key: number;
  value: number;
  emitMs: number;
}

interface KeyedSum {
  key: number;
  sum: number;
  emitMs: number;
}

class RunningSum implements KeyedProcessFunction<number, KeyedEvent, KeyedSum> {
  private sum!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum'));
  }
  processElement(e: KeyedEvent, _ctx: KeyedProcessContext<number>, out: Collector<KeyedSum>): void {
    const sum = (this.sum.value() ?? 0) + e.value;
    this.sum.update(sum);
    out.collect({ key: e.key, sum, emitMs: e.emitMs });
  }
}

export default function keyedBench(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-keyed');
  const p = env.params;
  const events = intParam(p, 'events', 5_000_000, 1);
  const keys = intParam(p, 'keys', 10_000, 1);
  const rate = optionalNumber(p, 'rate');
  const statsDir = statsDirOf(p);
  const sampleEvery = intParam(p, 'latencySampleEvery', rate !== undefined && rate <= 100_000 ? 1 : 256, 0);
  const stamp = statsDir === undefined ? () => 0 : createStamper(sampleEvery);
  let stream = env.fromGenerator<KeyedEvent>(
    {
      count: events,
      ...(rate === undefined ? {} : { ratePerSecond: rate }),
      seed: 3,
      name: 'Keyed events',
      generate: (index, rng) => ({ key: rng.nextInt(keys), value: index & 0xff, emitMs: stamp() }),
    },
    WatermarkStrategy.noWatermarks<KeyedEvent>(),
  );
  if (statsDir !== undefined) stream = stream.process(new ThroughputProbe<KeyedEvent>(statsDir, intParam(p, 'warmupEvents', Math.floor(events / 5), 0))).name('Throughput probe');
  stream
    .keyBy((e) => e.key)
    .process(new RunningSum())
    .name('Running sum')
    .sinkTo(querySink<KeyedSum>(p))
    .name('Keyed sink');
}
