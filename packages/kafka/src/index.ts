/**
 * @sluice/kafka — Kafka source and sink on kafkajs. The source implements @sluice/api's Source
 * contract (one split per topic-partition, positions = offsets, per-partition watermarks, pause on
 * backpressure, partition discovery, bad-record policies); the sink implements SinkWriter with
 * batched sends and backpressure. Talks to Kafka brokers only; the runtime drives both through
 * the api contracts.
 */
// First: kafkajs must load with the read_committed correction in place (see the file).
import './kafkajs-read-committed.js';
export { KafkaSource, DEFAULT_KAFKA_SOURCE_OPTIONS, type KafkaSourceOptions } from './source.js';
export { KafkaSink, DEFAULT_KAFKA_SINK_OPTIONS, type KafkaSinkOptions, type KafkaDeliveryGuarantee, type KafkaPartitioner } from './sink.js';
export {
  KafkaDeserializers,
  KafkaSerializers,
  headerText,
  headersText,
  type KafkaRecord,
  type KafkaRecordWithValue,
  type KafkaHeaders,
  type KafkaHeaderValue,
  type KafkaDeserializer,
  type KafkaSerializer,
  type KafkaBytes,
} from './records.js';
export { DEFAULT_PROTOBUF_CONVERSION, type ProtobufSchema, type ProtobufDeserializerOptions } from './protobuf.js';
export type { KafkaPartitionSplit, KafkaStartingOffsets } from './split.js';
export { BadRecordError, DLQ_HEADERS, BAD_RECORD_REASONS, type KafkaOnError, type BadRecordOptions, type BadRecordReason } from './bad-records.js';
export { KafkaConnectorError, DEFAULT_KAFKA_CONNECTION, type KafkaConnectionOptions, type KafkaLogLevel } from './connection.js';
export { kafkajsReadCommittedFixed } from './kafkajs-read-committed.js';
