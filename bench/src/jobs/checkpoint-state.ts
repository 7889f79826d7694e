/**
 * Bench job: checkpointing a large keyed state. A generator first emits one record per key for
 * `keys` distinct keys (each stores one small number in ValueState), then keeps updating random
 * keys for `updateSeconds` at the same pace, so periodic checkpoints (set by the harness) are
 * taken while all keys exist and records keep flowing. The harness reads the last checkpoint's
 * duration, size and longest processing pause from the JobResult.
 *
 * Params: keys (default 1,000,000), rate (records/s, default 1,000,000), updateSeconds (default 4).
 */
import {
  ValueStateDescriptor,
  WatermarkStrategy,
  type KeyedProcessFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
  type ValueState,
} from '@sluice/api';
import { intParam } from './params.js';

interface Update {
  key: number;
  value: number;
}

class Store implements KeyedProcessFunction<number, Update, never> {
  private state!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.state = ctx.getState(new ValueStateDescriptor<number>('small-value'));
  }

  processElement(e: Update): void {
    this.state.update(e.value);
  }
}

export default function checkpointStateBench(env: StreamExecutionEnvironment): void {
  env.setJobName('bench-checkpoint-state').setParallelism(1);
  const keys = intParam(env.params, 'keys', 1_000_000, 1);
  const rate = intParam(env.params, 'rate', 1_000_000, 1);
  const updates = rate * intParam(env.params, 'updateSeconds', 4, 0);
  env
    .fromGenerator<Update>(
      {
        count: keys + updates,
        seed: 9,
        name: 'Keys, then updates',
        ratePerSecond: rate,
        generate: (index, rng) => ({ key: index < keys ? index : rng.nextInt(keys), value: rng.nextInt(1000) }),
      },
      WatermarkStrategy.noWatermarks<Update>(),
    )
    .keyBy((e) => e.key)
    .process(new Store())
    .name('Store')
    .filter(() => false)
    .print();
}
