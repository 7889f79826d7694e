/**
 * Kafka over SASL. `side=source`: a bounded KafkaSource on the SASL listener reads `input` into
 * the collect sink `records`. `side=sink`: a bounded source on the plain listener reads `input`
 * and a KafkaSink on the SASL listener writes it to `output`. Params: bootstrap, saslBootstrap,
 * mechanism, username, password, input, output, side.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaDeserializers, KafkaSerializers, KafkaSink, KafkaSource } from '@sluice/kafka';
import type { SASLOptions } from 'kafkajs';

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  const sasl = { mechanism: p.mechanism, username: p.username!, password: p.password! } as SASLOptions;
  const secure = { bootstrapServers: p.saslBootstrap!, sasl };
  env.setJobName('kafka sasl');
  const readSecure = p.side === 'source';
  const records = env.fromSource(
    new KafkaSource({ ...(readSecure ? secure : { bootstrapServers: p.bootstrap! }), topics: p.input!, bounded: true, deserializer: KafkaDeserializers.string() }),
    WatermarkStrategy.noWatermarks(),
    'records',
  );
  if (readSecure) records.collect('records');
  else records.sinkTo(new KafkaSink<string>({ ...secure, topic: p.output!, valueSerializer: KafkaSerializers.string() }));
}
