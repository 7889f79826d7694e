/**
 * KafkaSink: writes a stream to Kafka topics. Records are serialized on write, accumulated, and
 * sent in batches (one produce request for many records; when a batch fills or after `lingerMs`).
 * Delivery 'at-least-once' waits for every send on flush (so a finished bounded job has all its
 * records acknowledged); 'none' sends and forgets, still bounded by the in-flight window. Either
 * way `write` returns a promise when the window is full, which backpressures the task, and a
 * failed send fails the task. 'exactly-once' writes a Kafka transaction per checkpoint
 * (exactly-once-writer.ts).
 */
import { ConfigurationError } from '@sluice/common';
import type { Sink, SinkWriter, SinkWriterContext } from '@sluice/api';
import { Partitioners, type ICustomPartitioner } from 'kafkajs';
import { bounded, createKafkaClient, resolveKafkaConnection, withKafkaDeadline, type KafkaConnectionOptions, type ResolvedKafkaConnection } from './connection.js';
import type { KafkaSerializer } from './records.js';
import { createExactlyOnceWriter } from './exactly-once-writer.js';
import { KafkaSinkWriter } from './sink-writer.js';
import { KafkaSinkMetrics } from './kafka-metrics.js';

export type KafkaDeliveryGuarantee = 'none' | 'at-least-once' | 'exactly-once';

/** A user partitioner: the partition (0 ≤ p < partitionCount) of one serialized record. */
export type KafkaPartitioner = (record: { topic: string; partitionCount: number; key: Buffer | null; value: Buffer | null }) => number;

export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  /** The target topic, or a function choosing it per record. */
  topic: string | ((value: T) => string);
  valueSerializer: KafkaSerializer<T>;
  keySerializer?: KafkaSerializer<T>;
  headers?: (value: T) => Readonly<Record<string, string | Buffer>>;
  /** 'default' = Kafka's Java client partitioning (murmur2 of the key, round-robin-ish without). */
  partitioner?: 'default' | KafkaPartitioner;
  /**
   * Default 'at-least-once' (everything written before a checkpoint is acknowledged before the
   * checkpoint completes). 'exactly-once' writes each checkpoint's records in a Kafka
   * transaction, committed when the checkpoint completes: read_committed consumers see every
   * record once, at checkpoint pace. It needs checkpointing and a `transactionalIdPrefix`.
   */
  deliveryGuarantee?: KafkaDeliveryGuarantee;
  /**
   * Exactly-once: the prefix of the sink's transactional ids (`<prefix>-<subtask>-<n>`). Keep it
   * the same across restarts and savepoints of a job — a restore aborts what those ids left
   * open — and unique among jobs writing to the same cluster.
   */
  transactionalIdPrefix?: string;
  /**
   * Exactly-once: how long the broker keeps a transaction open before aborting it. A transaction
   * lives from one checkpoint until the next completes, so it must be at least the checkpoint
   * interval plus the checkpoint timeout, and at most the broker's transaction.max.timeout.ms
   * (15 min by default). Default 15 min.
   */
  transactionTimeoutMs?: number;
  /** A produce request starts once this many records wait (or after `lingerMs`). Default 500. */
  batchSize?: number;
  /**
   * A partial batch is sent after this long. Default 5 ms. 0 sends it as soon as the task
   * returns to its event loop, i.e. after the records at hand have been written.
   */
  lingerMs?: number;
  /** Records sent or waiting but not yet acknowledged, at most; then write() backpressures. Default 10 000. */
  maxInFlightRecords?: number;
  /**
   * Produce requests in flight at once. Default 1: records that wait meanwhile go out together in
   * the next request, and a request kafkajs retries can never land behind a later one, so each
   * partition receives records in the order they were written. More than 1 sends in parallel and
   * may reorder a partition's records when a request is retried (Kafka's
   * max.in.flight.requests.per.connection without idempotence).
   */
  maxConcurrentSends?: number;
  /**
   * Upper bound on one produce request: keys, values, headers and per-record framing, estimated.
   * Keep it below the broker's message.max.bytes (1,048,588 by default), which applies to each
   * partition's batch in a request; a single larger record is still sent, alone. Default 1,000,000.
   */
  maxRequestBytes?: number;
  /** Use the stream record's timestamp as the Kafka timestamp (default true); false lets the broker/producer set it. */
  writeTimestamps?: boolean;
  /** Upper bound for connecting the producer. Default 15 s. */
  connectTimeoutMs?: number;
  /**
   * Upper bound for close() to wait for sends still in flight (after a failure or a cancel; a
   * finished job has flushed everything before). Then the producer is disconnected regardless,
   * waiting at most min(5 s, closeTimeoutMs) more. Default 10 s.
   */
  closeTimeoutMs?: number;
  name?: string;
}

export const DEFAULT_KAFKA_SINK_OPTIONS = Object.freeze({
  deliveryGuarantee: 'at-least-once' as KafkaDeliveryGuarantee,
  batchSize: 500,
  lingerMs: 5,
  maxInFlightRecords: 10_000,
  maxConcurrentSends: 1,
  maxRequestBytes: 1_000_000,
  writeTimestamps: true,
  connectTimeoutMs: 15_000,
  closeTimeoutMs: 10_000,
  transactionTimeoutMs: 900_000,
});

/** How long close() waits for the producer to disconnect. */
const DISCONNECT_TIMEOUT_MS = 5_000;

/** @internal exported for the unit tests */
export interface ResolvedSink<T> {
  connection: ResolvedKafkaConnection;
  topic: string | ((value: T) => string);
  valueSerializer: KafkaSerializer<T>;
  keySerializer: KafkaSerializer<T> | undefined;
  headers: ((value: T) => Readonly<Record<string, string | Buffer>>) | undefined;
  partitioner: ICustomPartitioner;
  deliveryGuarantee: KafkaDeliveryGuarantee;
  batchSize: number;
  lingerMs: number;
  maxInFlightRecords: number;
  maxConcurrentSends: number;
  maxRequestBytes: number;
  writeTimestamps: boolean;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  transactionalIdPrefix: string | undefined;
  transactionTimeoutMs: number;
}

function count(name: string, v: number | undefined, fallback: number, allowZero = false): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 0 || (!allowZero && v === 0)) throw new ConfigurationError(`KafkaSink ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  return v;
}

/** @internal exported for the unit tests */
export function userPartitioner(fn: KafkaPartitioner): ICustomPartitioner {
  return () => ({ topic, partitionMetadata, message }) => {
    const partitionCount = partitionMetadata.length;
    const p = fn({ topic, partitionCount, key: toBuffer(message.key), value: toBuffer(message.value) });
    if (!Number.isInteger(p) || p < 0 || p >= partitionCount) {
      throw new ConfigurationError(`KafkaSink partitioner returned ${String(p)} for topic '${topic}' with ${partitionCount} partitions`);
    }
    return p;
  };
}

function toBuffer(b: Buffer | string | null | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  return typeof b === 'string' ? Buffer.from(b) : b;
}

/** @internal exported for the unit tests */
export function resolveSinkOptions<T>(o: KafkaSinkOptions<T>): ResolvedSink<T> {
  if (typeof o.topic !== 'function' && (typeof o.topic !== 'string' || o.topic === '')) throw new ConfigurationError('KafkaSink needs a topic (a name or a function of the record)');
  if (typeof o.valueSerializer !== 'function') throw new ConfigurationError('KafkaSink needs a valueSerializer, e.g. KafkaSerializers.json()');
  const dg = o.deliveryGuarantee ?? DEFAULT_KAFKA_SINK_OPTIONS.deliveryGuarantee;
  if (dg !== 'none' && dg !== 'at-least-once' && dg !== 'exactly-once') {
    throw new ConfigurationError(`KafkaSink deliveryGuarantee must be 'none', 'at-least-once' or 'exactly-once', got ${String(dg)}`);
  }
  const prefix = o.transactionalIdPrefix;
  if (dg === 'exactly-once' && (typeof prefix !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(prefix))) {
    throw new ConfigurationError(
      `KafkaSink with deliveryGuarantee 'exactly-once' needs a transactionalIdPrefix (letters, digits, '.', '_', '-'), the same across restarts of the job and unique among jobs; got ${String(prefix)}`,
    );
  }
  const p = o.partitioner ?? 'default';
  if (p !== 'default' && typeof p !== 'function') throw new ConfigurationError("KafkaSink partitioner must be 'default' or a function");
  return {
    connection: resolveKafkaConnection(o),
    topic: o.topic,
    valueSerializer: o.valueSerializer,
    keySerializer: o.keySerializer,
    headers: o.headers,
    partitioner: p === 'default' ? Partitioners.DefaultPartitioner : userPartitioner(p),
    deliveryGuarantee: dg,
    batchSize: count('batchSize', o.batchSize, DEFAULT_KAFKA_SINK_OPTIONS.batchSize),
    lingerMs: count('lingerMs', o.lingerMs, DEFAULT_KAFKA_SINK_OPTIONS.lingerMs, true),
    maxInFlightRecords: count('maxInFlightRecords', o.maxInFlightRecords, DEFAULT_KAFKA_SINK_OPTIONS.maxInFlightRecords),
    maxConcurrentSends: count('maxConcurrentSends', o.maxConcurrentSends, DEFAULT_KAFKA_SINK_OPTIONS.maxConcurrentSends),
    maxRequestBytes: count('maxRequestBytes', o.maxRequestBytes, DEFAULT_KAFKA_SINK_OPTIONS.maxRequestBytes),
    writeTimestamps: o.writeTimestamps ?? DEFAULT_KAFKA_SINK_OPTIONS.writeTimestamps,
    connectTimeoutMs: count('connectTimeoutMs', o.connectTimeoutMs, DEFAULT_KAFKA_SINK_OPTIONS.connectTimeoutMs),
    closeTimeoutMs: count('closeTimeoutMs', o.closeTimeoutMs, DEFAULT_KAFKA_SINK_OPTIONS.closeTimeoutMs),
    transactionalIdPrefix: prefix,
    transactionTimeoutMs: count('transactionTimeoutMs', o.transactionTimeoutMs, DEFAULT_KAFKA_SINK_OPTIONS.transactionTimeoutMs),
  };
}

export class KafkaSink<T> implements Sink<T> {
  private readonly resolved: ResolvedSink<T>;
  private readonly name: string | undefined;

  constructor(options: KafkaSinkOptions<T>) {
    this.resolved = resolveSinkOptions(options);
    this.name = options.name;
  }

  async createWriter(ctx: SinkWriterContext): Promise<SinkWriter<T>> {
    const r = this.resolved;
    if (r.deliveryGuarantee === 'exactly-once') return createExactlyOnceWriter(r, ctx);
    const suffix = `sink-${ctx.taskInfo.subtaskIndex}`;
    const producer = createKafkaClient(r.connection, suffix).producer({ allowAutoTopicCreation: false, createPartitioner: r.partitioner });
    const topics = typeof r.topic === 'string' ? [r.topic] : [];
    await withKafkaDeadline(r.connection, 'connecting the Kafka sink producer', r.connectTimeoutMs, () => producer.connect(), { access: 'write', topics }).catch(async (err: unknown) => {
      await bounded(producer.disconnect(), DISCONNECT_TIMEOUT_MS);
      throw err;
    });
    return new KafkaSinkWriter<T>(r, producer, new KafkaSinkMetrics(ctx.metrics));
  }

  describe(): string {
    return this.name ?? `Kafka(${typeof this.resolved.topic === 'string' ? this.resolved.topic : 'dynamic topic'})`;
  }
}

export { KafkaSinkWriter };
