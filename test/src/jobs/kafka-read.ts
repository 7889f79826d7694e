/**
 * Reads Kafka topics into a collect sink `records`, keeping each record's origin. Bounded by
 * default (stops at the offsets current at start); `bounded=false` with `output` copies instead
 * to that topic, unbounded, until cancelled. Params: bootstrap, topics | pattern, start,
 * discoveryMs, bounded, output.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSerializers, KafkaSink, KafkaSource } from '@sluice/kafka';
import { discovery, startingOffsets, topicSelection } from './kafka-params.js';

export interface Origin {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  value: string;
}

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  const bounded = p.bounded !== 'false';
  env.setJobName('kafka read');
  const records = env.fromSource(
    new KafkaSource<Origin>({
      bootstrapServers: p.bootstrap!,
      ...topicSelection(p),
      startingOffsets: startingOffsets(p.start),
      bounded,
      ...discovery(p),
      deserializer: (r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, value: r.value?.toString('utf8') ?? '' }),
    }),
    WatermarkStrategy.noWatermarks(),
    'records',
  );
  if (p.output === undefined) records.collect('records');
  else records.sinkTo(new KafkaSink<Origin>({ bootstrapServers: p.bootstrap!, topic: p.output, valueSerializer: KafkaSerializers.json(), lingerMs: 1 }));
}
