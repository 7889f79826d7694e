/**
 * Records as a Kafka source hands them to user code, and the built-in (de)serializers. A
 * deserializer sees the whole record (key, value, headers, timestamp, topic, partition, offset)
 * and returns the stream's value; returning `undefined` drops the record on purpose (tombstones).
 * A deserializer that throws marks the record bad, and the source's `onError` policy decides.
 */
import { Buffer } from 'node:buffer';

export type KafkaHeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type KafkaHeaders = Readonly<Record<string, KafkaHeaderValue>>;

export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch (CreateTime or LogAppendTime, as the topic is configured). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: KafkaHeaders;
}

/** Returns the stream value for `record`, or undefined to skip it; throws for a bad record. */
export type KafkaDeserializer<T> = (record: KafkaRecord) => T | undefined;

/** Serialized form of one key or value; null writes a Kafka null (a tombstone for values). */
export type KafkaBytes = Buffer | string | null;
export type KafkaSerializer<T> = (value: T) => KafkaBytes;

export const KafkaDeserializers = Object.freeze({
  /** The value's bytes; null values are skipped. */
  bytes(): KafkaDeserializer<Buffer> {
    return (r) => r.value ?? undefined;
  },
  /** The value as UTF-8 text; null values are skipped. */
  string(): KafkaDeserializer<string> {
    return (r) => (r.value === null ? undefined : r.value.toString('utf8'));
  },
  /** The value parsed as JSON; null values (tombstones) are skipped, malformed JSON is a bad record. */
  json<T = unknown>(): KafkaDeserializer<T> {
    return (r) => (r.value === null ? undefined : (JSON.parse(r.value.toString('utf8')) as T));
  },
  /** The whole record, for jobs that want key, headers, partition and offset too. */
  record(): KafkaDeserializer<KafkaRecord> {
    return (r) => r;
  },
});

export const KafkaSerializers = Object.freeze({
  json<T>(): KafkaSerializer<T> {
    return (v) => JSON.stringify(v);
  },
  string(): KafkaSerializer<string> {
    return (v) => v;
  },
  bytes(): KafkaSerializer<Buffer | Uint8Array> {
    return (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  },
});

/** One header as text (the last value when repeated), for code and tests that read headers. */
export function headerText(headers: KafkaHeaders, name: string): string | undefined {
  const v = headers[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

/** Key plus value size, the measure `maxRecordBytes` limits. */
export function recordSize(r: Pick<KafkaRecord, 'key' | 'value'>): number {
  return (r.key?.length ?? 0) + (r.value?.length ?? 0);
}
