/**
 * Exactly-once Kafka → Kafka: a bounded KafkaSource reads `{ seq }` records, a keyed function
 * keeps each key's count and sum in state and emits `{ key, seq, count, sum }`, and an
 * exactly-once KafkaSink writes a transaction per checkpoint. Failures are injected as in
 * exactly-once.ts (throw / worker exit on attempts below `failures`, before 70% of the input),
 * so a read_committed consumer of `output` must see every record exactly once.
 * Params: bootstrap, input, output, events, prefix (transactional id prefix), failures (default 0),
 * keys (default 7), interval (checkpoint ms, default 150), group (commit checkpointed offsets there),
 * bounded ('false': read on past the end of the input until stopped; default 'true').
 */
import { ValueStateDescriptor, WatermarkStrategy, type Collector, type KeyedProcessContext, type KeyedProcessFunction, type RuntimeContext, type StreamExecutionEnvironment, type ValueState } from '@sluice/api';
import { KafkaDeserializers, KafkaSerializers, KafkaSink, KafkaSource } from '@sluice/kafka';

export interface Counted {
  key: number;
  seq: number;
  count: number;
  sum: number;
}

class Count implements KeyedProcessFunction<number, { seq: number }, Counted> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  private failAfter = Infinity;
  private seen = 0;
  private attempt = 0;

  constructor(private readonly failures: number, private readonly failBefore: number) {}

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', 0));
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', 0));
    const info = ctx.getTaskInfo();
    this.attempt = info.attempt;
    if (info.attempt < this.failures && info.subtaskIndex === info.attempt % info.parallelism) this.failAfter = 500 + Math.floor(Math.random() * 2_000);
  }

  processElement(r: { seq: number }, ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    if (++this.seen >= this.failAfter && r.seq < this.failBefore) {
      if (this.attempt % 2 === 1) process.exit(3);
      throw new Error(`injected failure after ${this.seen} records (attempt ${this.attempt})`);
    }
    const count = this.count.value()! + 1;
    const sum = this.sum.value()! + r.seq;
    this.count.update(count);
    this.sum.update(sum);
    out.collect({ key: ctx.getCurrentKey(), seq: r.seq, count, sum });
  }
}

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input, output, prefix } = env.params;
  const events = Number(env.params.events ?? '20000');
  const keys = Number(env.params.keys ?? '7');
  const failures = Number(env.params.failures ?? '0');
  env.setJobName('kafka exactly-once');
  env.enableCheckpointing(Number(env.params.interval ?? '150'), { timeoutMs: 30_000 });
  env.setRestartStrategy({ type: 'fixed-delay', attempts: failures + 2, delayMs: 100 });
  env
    .fromSource(new KafkaSource<{ seq: number }>({
        bootstrapServers: bootstrap!,
        topics: [input!],
        bounded: env.params.bounded !== 'false',
        deserializer: KafkaDeserializers.json<{ seq: number }>(),
        ...(env.params.group === undefined ? {} : { commitOffsetsToGroup: env.params.group }),
      }), WatermarkStrategy.noWatermarks(), 'numbers')
    .uid('numbers')
    .keyBy((r) => r.seq % keys)
    .process(new Count(failures, Math.floor(events * 0.7)))
    .uid('count')
    .sinkTo(
      new KafkaSink<Counted>({
        bootstrapServers: bootstrap!,
        topic: output!,
        valueSerializer: KafkaSerializers.json(),
        deliveryGuarantee: 'exactly-once',
        transactionalIdPrefix: prefix!,
        transactionTimeoutMs: 60_000,
      }),
    )
    .uid('out');
}
