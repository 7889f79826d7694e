/**
 * @sluice/kafka — Kafka source and sink on kafkajs. The source implements @sluice/api's Source
 * contract (one split per topic-partition, positions = offsets, per-partition watermarks, pause on
 * backpressure, bad-record policies); the sink implements SinkWriter with batched sends and
 * backpressure. Talks to Kafka brokers only; the runtime drives both through the api contracts.
 */
export { KafkaSource, DEFAULT_KAFKA_SOURCE_OPTIONS, type KafkaSourceOptions } from './source.js';
export { KafkaSink, DEFAULT_KAFKA_SINK_OPTIONS, type KafkaSinkOptions, type KafkaDeliveryGuarantee, type KafkaPartitioner } from './sink.js';
export {
  KafkaDeserializers,
  KafkaSerializers,
  headerText,
  type KafkaRecord,
  type KafkaHeaders,
  type KafkaHeaderValue,
  type KafkaDeserializer,
  type KafkaSerializer,
  type KafkaBytes,
} from './records.js';
export type { KafkaPartitionSplit, KafkaStartingOffsets } from './split.js';
export { BadRecordError, DLQ_HEADERS, type KafkaOnError, type BadRecordOptions } from './bad-records.js';
export { KafkaConnectorError, DEFAULT_KAFKA_CONNECTION, type KafkaConnectionOptions, type KafkaLogLevel } from './connection.js';
