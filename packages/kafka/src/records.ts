/**
 * Records as a Kafka source hands them to user code, and the built-in (de)serializers. A
 * deserializer sees the whole record (key, value, headers, timestamp, topic, partition, offset)
 * and returns the stream's value; returning `undefined` drops the record on purpose (tombstones).
 * A deserializer that throws marks the record bad, and the source's `onError` policy decides.
 *
 * Stream values must be plain data to cross a chain boundary (the runtime's record format has no
 * Buffer), so `withMetadata` hands key and headers on as UTF-8 text.
 */
import { Buffer } from 'node:buffer';
import { protobufDeserializer, type ProtobufDeserializerOptions, type ProtobufSchema } from './protobuf.js';

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

/** A value plus its record's metadata, as plain data: key and headers as UTF-8 text. */
export interface KafkaRecordWithValue<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly value: T;
}

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
  /**
   * A message type's records decoded with protobufjs into plain objects (by default longs and
   * enums as strings, bytes as base64, defaults filled in); null values are skipped, bytes that
   * do not decode are bad records. The schema is a protobufjs `Type`, or a .proto file and the
   * fully qualified message name (loaded once, when the job is built; the file must exist on
   * every machine that runs the job).
   */
  protobuf<T = Record<string, unknown>>(schema: ProtobufSchema, options: ProtobufDeserializerOptions = {}): KafkaDeserializer<T> {
    return protobufDeserializer<T>(schema, options);
  },
  /** The whole record, for jobs that want key, headers, partition and offset too (Buffers: same chain only). */
  record(): KafkaDeserializer<KafkaRecord> {
    return (r) => r;
  },
  /**
   * Wraps any value deserializer so the stream carries `{ value, key, headers, timestamp, topic,
   * partition, offset }` (key and headers as UTF-8 text). Records the inner one skips stay skipped.
   */
  withMetadata<T>(inner: KafkaDeserializer<T>): KafkaDeserializer<KafkaRecordWithValue<T>> {
    return (r) => {
      const value = inner(r);
      if (value === undefined) return undefined;
      return { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key === null ? null : r.key.toString('utf8'), headers: headersText(r.headers), value };
    };
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

/** Every header as UTF-8 text; a repeated header becomes a list. */
export function headersText(headers: KafkaHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : x.toString('utf8'))) : typeof v === 'string' ? v : v.toString('utf8');
  }
  return out;
}

/** Key plus value size, the measure `maxRecordBytes` limits. */
export function recordSize(r: Pick<KafkaRecord, 'key' | 'value'>): number {
  return (r.key?.length ?? 0) + (r.value?.length ?? 0);
}
