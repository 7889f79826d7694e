/**
 * KafkaSink: writes a stream to Kafka topics. Records are serialized on write, accumulated, and
 * sent in batches (one produce request for many records; when a batch fills or after `lingerMs`).
 * Delivery 'at-least-once' waits for every send on flush (so a finished bounded job has all its
 * records acknowledged); 'none' sends and forgets, still bounded by the in-flight window. Either
 * way `write` returns a promise when the window is full, which backpressures the task, and a
 * failed send fails the task.
 */
import { ConfigurationError, describeError } from '@sluice/common';
import type { Sink, SinkWriter, SinkWriterContext } from '@sluice/api';
import { Partitioners, type ICustomPartitioner, type IHeaders, type Message, type Producer } from 'kafkajs';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, resolveKafkaConnection, withKafkaDeadline, type KafkaConnectionOptions, type ResolvedKafkaConnection } from './connection.js';
import { refusalError } from './errors.js';
import type { KafkaBytes, KafkaSerializer } from './records.js';

export type KafkaDeliveryGuarantee = 'none' | 'at-least-once';

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
  /** Default 'at-least-once'. */
  deliveryGuarantee?: KafkaDeliveryGuarantee;
  /** Records per produce request. Default 500. */
  batchSize?: number;
  /** A partial batch is sent after this long. Default 5 ms. */
  lingerMs?: number;
  /** Records sent but not yet acknowledged, at most; then write() backpressures. Default 10 000. */
  maxInFlightRecords?: number;
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
  writeTimestamps: true,
  connectTimeoutMs: 15_000,
  closeTimeoutMs: 10_000,
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
  writeTimestamps: boolean;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
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
  if (dg !== 'none' && dg !== 'at-least-once') throw new ConfigurationError(`KafkaSink deliveryGuarantee must be 'none' or 'at-least-once', got ${String(dg)}`);
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
    writeTimestamps: o.writeTimestamps ?? DEFAULT_KAFKA_SINK_OPTIONS.writeTimestamps,
    connectTimeoutMs: count('connectTimeoutMs', o.connectTimeoutMs, DEFAULT_KAFKA_SINK_OPTIONS.connectTimeoutMs),
    closeTimeoutMs: count('closeTimeoutMs', o.closeTimeoutMs, DEFAULT_KAFKA_SINK_OPTIONS.closeTimeoutMs),
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
    const suffix = `sink-${ctx.taskInfo.subtaskIndex}`;
    const producer = createKafkaClient(r.connection, suffix).producer({ allowAutoTopicCreation: false, createPartitioner: r.partitioner });
    const topics = typeof r.topic === 'string' ? [r.topic] : [];
    await withKafkaDeadline(r.connection, 'connecting the Kafka sink producer', r.connectTimeoutMs, () => producer.connect(), { access: 'write', topics }).catch(async (err: unknown) => {
      await bounded(producer.disconnect(), DISCONNECT_TIMEOUT_MS);
      throw err;
    });
    return new KafkaSinkWriter<T>(r, producer);
  }

  describe(): string {
    return this.name ?? `Kafka(${typeof this.resolved.topic === 'string' ? this.resolved.topic : 'dynamic topic'})`;
  }
}

/** @internal exported for the unit tests (with a testing producer) */
export class KafkaSinkWriter<T> implements SinkWriter<T> {
  /** Messages per topic waiting to be sent. */
  private pending = new Map<string, Message[]>();
  private pendingCount = 0;
  private inFlight = 0;
  private readonly sends = new Set<Promise<void>>();
  private failure: Error | undefined;
  private linger: NodeJS.Timeout | undefined;
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly r: ResolvedSink<T>, private readonly producer: Producer) {}

  write(value: T, timestamp: number | undefined): void | Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const r = this.r;
    const topic = typeof r.topic === 'string' ? r.topic : r.topic(value);
    const message: Message = { value: r.valueSerializer(value) satisfies KafkaBytes };
    if (r.keySerializer !== undefined) message.key = r.keySerializer(value);
    if (r.headers !== undefined) message.headers = { ...r.headers(value) } as IHeaders;
    if (r.writeTimestamps && timestamp !== undefined && Number.isFinite(timestamp)) message.timestamp = String(Math.trunc(timestamp));
    let list = this.pending.get(topic);
    if (list === undefined) this.pending.set(topic, (list = []));
    list.push(message);
    this.pendingCount++;
    if (this.pendingCount >= r.batchSize) this.sendPending();
    else this.linger ??= setTimeout(() => this.sendPending(), r.lingerMs);
    if (this.inFlight + this.pendingCount >= r.maxInFlightRecords) {
      this.sendPending();
      return new Promise<void>((resolve, reject) => this.roomWaiters.push(() => (this.failure === undefined ? resolve() : reject(this.failure))));
    }
  }

  async flush(endOfInput: boolean): Promise<void> {
    this.sendPending();
    if (this.r.deliveryGuarantee === 'at-least-once' || endOfInput) await this.drain();
  }

  async close(): Promise<void> {
    clearTimeout(this.linger);
    this.linger = undefined;
    // Whatever was accepted goes out before the producer disconnects, unless the brokers do not
    // answer: close() is bounded, so a dead cluster cannot hang the task's shutdown.
    if (this.failure === undefined) this.sendPending();
    await bounded(Promise.allSettled([...this.sends]), this.r.closeTimeoutMs);
    await bounded(this.producer.disconnect(), Math.min(DISCONNECT_TIMEOUT_MS, this.r.closeTimeoutMs));
    // Anyone still waiting for room must not wait forever.
    this.failure ??= new KafkaConnectorError('KAFKA_SINK_CLOSED', 'KafkaSink writer is closed');
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private async drain(): Promise<void> {
    while (this.sends.size > 0) await Promise.allSettled([...this.sends]);
    if (this.failure !== undefined) throw this.failure;
  }

  private sendPending(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.pendingCount === 0) return;
    const topicMessages = [...this.pending].map(([topic, messages]) => ({ topic, messages }));
    const n = this.pendingCount;
    this.pending = new Map();
    this.pendingCount = 0;
    this.inFlight += n;
    const acks = this.r.deliveryGuarantee === 'at-least-once' ? -1 : 1;
    const send: Promise<void> = this.producer.sendBatch({ topicMessages, acks }).then(
      () => undefined,
      (err: unknown) => {
        const topics = topicMessages.map((t) => t.topic);
        const named = topics.map((t) => `'${t}'`).join(', ');
        const brokers = describeBrokers(this.r.connection);
        this.failure ??=
          refusalError(err, `KafkaSink writing ${n} record(s) to ${named}`, brokers, { access: 'write', topics }) ??
          new KafkaConnectorError('KAFKA_SEND_FAILED', `KafkaSink could not write ${n} record(s) to ${named} at ${brokers}: ${describeError(err)}`, { cause: err });
      },
    );
    this.sends.add(send);
    void send.finally(() => {
      this.sends.delete(send);
      this.inFlight -= n;
      if (this.failure !== undefined || this.inFlight + this.pendingCount < this.r.maxInFlightRecords) {
        for (const w of this.roomWaiters.splice(0)) w();
      }
    });
  }
}
