/**
 * A Kafka source pointed at an address where no broker listens. Params: bootstrap, input.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaDeserializers, KafkaSource } from '@sluice/kafka';

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input } = env.params;
  env.setJobName('kafka unreachable');
  env
    .fromSource(new KafkaSource({ bootstrapServers: bootstrap!, topics: input!, deserializer: KafkaDeserializers.string(), bounded: true }), WatermarkStrategy.noWatermarks(), 'nowhere')
    .collect('never');
}
