/**
 * A bounded JSON source with a bad-record policy. Params: bootstrap, input, onError
 * ('fail' | 'skip' | 'dead-letter'), dlq (dead-letter topic), maxErrorRate (optional).
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaDeserializers, KafkaSource, type KafkaOnError } from '@sluice/kafka';

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input, dlq } = env.params;
  const onError = (env.params.onError ?? 'fail') as KafkaOnError;
  const rate = env.params.maxErrorRate;
  env.setJobName('kafka bad records');
  env
    .fromSource(
      new KafkaSource<{ n: number }>({
        bootstrapServers: bootstrap!,
        topics: input!,
        bounded: true,
        deserializer: KafkaDeserializers.json<{ n: number }>(),
        onError,
        ...(dlq === undefined ? {} : { deadLetterTopic: dlq }),
        ...(rate === undefined ? {} : { maxErrorRate: Number(rate), errorRateMinRecords: 10 }),
        maxRecordBytes: 1000,
      }),
      WatermarkStrategy.noWatermarks(),
      'numbers',
    )
    .collect('good');
}
