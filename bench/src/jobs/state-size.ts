/**
 * Bench job: the heap cost of keyed state. A generator emits `keys` records, one per distinct
 * key; keyBy → a process function stores one small number in ValueState per key. The same
 * function measures its own isolate's heap after a forced GC when the first record arrives
 * (engine, buffers and code are in place by then) and again when the last one has been stored,
 * and emits one StateSizeReport, which the job collects as 'stats'. The difference is the
 * state's heap cost: the state table, its per-key-group structure and the entries.
 *
 * Always runs at parallelism 1: the function counts `keys` records to know it has seen the last.
 * Params: keys (default 1,000,000), keyType ('int' = the integers 0..keys−1, the default;
 * 'string' = account ids like 'acct-0000123456', the more common real-world key).
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
import { readHeapAfterGc, type HeapReading } from './heap.js';
import { intParam } from './params.js';

export interface StateSizeReport {
  keys: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  afterGc: boolean;
}

interface KeyedValue {
  key: number | string;
  value: number;
}

class StoreAndMeasure implements KeyedProcessFunction<number, KeyedValue, StateSizeReport> {
  private state!: ValueState<number>;
  private seen = 0;
  private before: HeapReading | undefined;

  constructor(private readonly keys: number) {}

  open(ctx: RuntimeContext): void {
    this.state = ctx.getState(new ValueStateDescriptor<number>('small-value'));
  }

  processElement(e: KeyedValue, _ctx: KeyedProcessContext<number>, out: Collector<StateSizeReport>): void {
    if (this.seen === 0) this.before = readHeapAfterGc();
    this.state.update(e.value);
    if (++this.seen === this.keys) {
      const after = readHeapAfterGc();
      const before = this.before ?? after;
      out.collect({ keys: this.seen, heapBeforeBytes: before.usedBytes, heapAfterBytes: after.usedBytes, afterGc: after.afterGc });
    }
  }
}

export default function stateSizeBench(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-state-size').setParallelism(1);
  const keys = intParam(env.params, 'keys', 1_000_000, 1);
  const keyType = env.params.keyType ?? 'int';
  if (keyType !== 'int' && keyType !== 'string') throw new Error(`-D keyType must be 'int' or 'string', got '${keyType}'`);
  const keyOf = keyType === 'int' ? (index: number): number | string => index : (index: number): number | string => `acct-${String(index).padStart(10, '0')}`;
  env
    .fromGenerator<KeyedValue>(
      // Values below 2^30 stay small integers in V8 (no boxed heap number per value).
      { count: keys, seed: 5, name: 'Distinct keys', generate: (index, rng) => ({ key: keyOf(index), value: rng.nextInt(1000) }) },
      WatermarkStrategy.noWatermarks<KeyedValue>(),
    )
    .keyBy((e) => e.key)
    .process(new StoreAndMeasure(keys))
    .name('Store and measure')
    .collect('stats');
}
