/**
 * Event-time windows on Kafka record timestamps with per-partition watermarks: an unbounded
 * source over a topic where one partition stays empty. With idleness the empty partition is
 * marked idle and windows fire; window sums (operator 'window sums') go to `output`. Params: bootstrap, input, output,
 * idleMs (0 = no idleness), timeFrom ('record' = the Kafka timestamp, the default; 'field' = the
 * reading's own `ts` field).
 */
import { TumblingEventTimeWindows, type StreamExecutionEnvironment, WatermarkStrategy } from '@sluice/api';
import { KafkaDeserializers, KafkaSerializers, KafkaSink, KafkaSource } from '@sluice/kafka';

interface Reading {
  sensor: string;
  value: number;
  ts?: number;
}

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input, output } = env.params;
  const idleMs = Number(env.params.idleMs ?? '0');
  env.setJobName('kafka idle windows');
  env.setAutoWatermarkInterval(50);
  let strategy = WatermarkStrategy.forBoundedOutOfOrderness<Reading>(0);
  if (idleMs > 0) strategy = strategy.withIdleness(idleMs);
  if (env.params.timeFrom === 'field') strategy = strategy.withTimestampAssigner((r) => r.ts ?? Number.NaN);
  env
    .fromSource(new KafkaSource<Reading>({ bootstrapServers: bootstrap!, topics: input!, deserializer: KafkaDeserializers.json<Reading>() }), strategy, 'readings')
    .keyBy((r) => r.sensor)
    .window(TumblingEventTimeWindows.of(1000))
    .aggregate(
      { createAccumulator: () => 0, add: (r: Reading, acc: number) => acc + r.value, getResult: (acc: number) => acc },
      {
        process(key: string, ctx, sums: Iterable<number>, out) {
          for (const s of sums) out.collect({ sensor: key, windowStart: ctx.window().start, sum: s });
        },
      },
    )
    .name('window sums')
    .sinkTo(new KafkaSink<{ sensor: string; windowStart: number; sum: number }>({ bootstrapServers: bootstrap!, topic: output!, valueSerializer: KafkaSerializers.json() }));
}
