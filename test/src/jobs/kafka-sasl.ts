/**
 * Kafka over SASL. `side=source`: a bounded KafkaSource on the SASL listener reads `input` into
 * the collect sink `records` as `partition/offset=value`, so a test can tell a record read twice
 * from one written twice. `side=sink`: a bounded source on the plain listener reads `input` and a
 * KafkaSink on the SASL listener writes its values to `output`. `patient=true` gives every
 * client minutes of retries and deadlines, so only a refusal recognized as one fails the job
 * soon. Params: bootstrap, saslBootstrap, mechanism, username, password, input, output, side,
 * patient.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaSerializers, KafkaSink, KafkaSource } from '@sluice/kafka';
import type { SASLOptions } from 'kafkajs';

const PATIENT = { retries: 30, maxRetryTimeMs: 30_000 };
const LONG = 600_000;

export default function build(env: StreamExecutionEnvironment): void {
  const p = env.params;
  const sasl = { mechanism: p.mechanism, username: p.username!, password: p.password! } as SASLOptions;
  const patient = p.patient === 'true';
  const secure = { bootstrapServers: p.saslBootstrap!, sasl, ...(patient ? PATIENT : {}) };
  env.setJobName('kafka sasl');
  const readSecure = p.side === 'source';
  const records = env.fromSource(
    new KafkaSource({
      ...(readSecure ? secure : { bootstrapServers: p.bootstrap! }),
      ...(patient ? { enumerationTimeoutMs: LONG, consumerStartTimeoutMs: LONG } : {}),
      topics: p.input!,
      bounded: true,
      deserializer: (r) => (readSecure ? `${r.partition}/${r.offset}=` : '') + (r.value?.toString('utf8') ?? ''),
    }),
    WatermarkStrategy.noWatermarks(),
    'records',
  );
  if (readSecure) records.collect('records');
  else records.sinkTo(new KafkaSink<string>({ ...secure, ...(patient ? { connectTimeoutMs: LONG } : {}), topic: p.output!, valueSerializer: KafkaSerializers.string() }));
}
