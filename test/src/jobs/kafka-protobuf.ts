/**
 * Protobuf payments from a .proto file, with their record metadata; records that do not decode
 * go to a dead-letter topic. Params: bootstrap, input, protoFile, dlq.
 */
import { WatermarkStrategy } from '@sluice/api';
import type { StreamExecutionEnvironment } from '@sluice/api';
import { KafkaDeserializers, KafkaSource } from '@sluice/kafka';

export interface Payment {
  user: string;
  cents: string;
  method: string;
}

export default function build(env: StreamExecutionEnvironment): void {
  const { bootstrap, input, protoFile, dlq } = env.params;
  env.setJobName('kafka protobuf');
  env
    .fromSource(
      new KafkaSource({
        bootstrapServers: bootstrap!,
        topics: input!,
        bounded: true,
        deserializer: KafkaDeserializers.withMetadata(KafkaDeserializers.protobuf<Payment>({ protoFile: protoFile!, messageType: 'sluice.test.Payment' })),
        onError: 'dead-letter',
        deadLetterTopic: dlq!,
      }),
      WatermarkStrategy.noWatermarks(),
      'payments',
    )
    // Keyed by user: the records cross a shuffle, so they must be plain data (withMetadata's are).
    .keyBy((p) => p.value.user)
    .reduce((_earlier, latest) => latest)
    .collect('payments');
}
