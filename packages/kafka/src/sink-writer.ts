/**
 * The KafkaSink writer for 'none' and 'at-least-once': records are serialized on write and
 * accumulated per topic, sent as one produce request per batch (full, or after `lingerMs`),
 * with at most `maxInFlightRecords` unacknowledged — past that `write` returns a promise, which
 * backpressures the task. A failed send fails the task. The exactly-once writer extends it and
 * sends into transactions instead.
 */
import { describeError } from '@sluice/common';
import type { SinkWriter } from '@sluice/api';
import type { IHeaders, Message, Producer } from 'kafkajs';
import { bounded, describeBrokers, KafkaConnectorError } from './connection.js';
import { refusalError, unknownTopicError } from './errors.js';
import type { KafkaBytes } from './records.js';
import type { ResolvedSink } from './sink.js';
import { KafkaSinkMetrics } from './kafka-metrics.js';

function byteLength(b: Message['value'] | Message['key']): number {
  if (b === null || b === undefined) return 0;
  return typeof b === 'string' ? Buffer.byteLength(b) : b.length;
}

function messageBytes(messages: readonly Message[]): number {
  let n = 0;
  for (const m of messages) n += byteLength(m.key) + byteLength(m.value);
  return n;
}

/** How long close() waits for the producer to disconnect. */
const DISCONNECT_TIMEOUT_MS = 5_000;

/** @internal exported for the unit tests (with a testing producer) */
export class KafkaSinkWriter<T> implements SinkWriter<T> {
  /** Messages per topic waiting to be sent. */
  private pending = new Map<string, Message[]>();
  private pendingCount = 0;
  private inFlight = 0;
  private readonly sends = new Set<Promise<void>>();
  protected failure: Error | undefined;
  /** The pending linger: a timer, or with lingerMs 0 an immediate (a 0 ms timer waits ~1 ms). */
  private linger: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private roomWaiters: (() => void)[] = [];

  constructor(
    protected readonly r: ResolvedSink<T>,
    private readonly producer: Producer | undefined,
    protected readonly metrics: KafkaSinkMetrics = new KafkaSinkMetrics(undefined),
  ) {}

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
    else this.linger ??= r.lingerMs === 0 ? setImmediate(() => this.sendPending()) : setTimeout(() => this.sendPending(), r.lingerMs);
    if (this.inFlight + this.pendingCount >= r.maxInFlightRecords) {
      // Full: wait for room. A partial batch goes out only when nothing else is in flight (or
      // the linger timer fires), so a full window keeps sending whole batches, not single records.
      if (this.inFlight === 0) this.sendPending();
      return new Promise<void>((resolve, reject) => this.roomWaiters.push(() => (this.failure === undefined ? resolve() : reject(this.failure))));
    }
  }

  async flush(endOfInput: boolean): Promise<void> {
    this.sendPending();
    if (this.r.deliveryGuarantee === 'at-least-once' || endOfInput) await this.drain();
  }

  async close(): Promise<void> {
    this.cancelLinger();
    // Whatever was accepted goes out before the producer disconnects, unless the brokers do not
    // answer: close() is bounded, so a dead cluster cannot hang the task's shutdown.
    if (this.failure === undefined) this.sendPending();
    await bounded(Promise.allSettled([...this.sends]), this.r.closeTimeoutMs);
    await this.disconnect();
    // Anyone still waiting for room must not wait forever.
    this.failure ??= new KafkaConnectorError('KAFKA_SINK_CLOSED', 'KafkaSink writer is closed');
    for (const w of this.roomWaiters.splice(0)) w();
  }

  protected async drain(): Promise<void> {
    while (this.sends.size > 0) await Promise.allSettled([...this.sends]);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Sends one batch; the exactly-once writer sends into its open transaction instead. */
  protected dispatch(topicMessages: { topic: string; messages: Message[] }[]): Promise<unknown> {
    return this.producer!.sendBatch({ topicMessages, acks: this.r.deliveryGuarantee === 'none' ? 1 : -1 });
  }

  /** Called with every send as it starts (the exactly-once writer groups them by transaction). */
  protected track(_send: Promise<void>): void {}

  protected async disconnect(): Promise<void> {
    if (this.producer !== undefined) await bounded(this.producer.disconnect(), Math.min(DISCONNECT_TIMEOUT_MS, this.r.closeTimeoutMs));
  }

  private cancelLinger(): void {
    if (this.linger === undefined) return;
    if (this.r.lingerMs === 0) clearImmediate(this.linger as NodeJS.Immediate);
    else clearTimeout(this.linger as NodeJS.Timeout);
    this.linger = undefined;
  }

  protected sendPending(): void {
    this.cancelLinger();
    if (this.pendingCount === 0) return;
    const topicMessages = [...this.pending].map(([topic, messages]) => ({ topic, messages }));
    const n = this.pendingCount;
    this.pending = new Map();
    this.pendingCount = 0;
    this.inFlight += n;
    const sentAt = performance.now();
    const send: Promise<void> = this.dispatch(topicMessages).then(
      () => {
        const seconds = (performance.now() - sentAt) / 1000;
        for (const { topic, messages } of topicMessages) this.metrics.acknowledged(topic, messages.length, messageBytes(messages), seconds);
      },
      (err: unknown) => {
        const topics = topicMessages.map((t) => t.topic);
        const named = topics.map((t) => `'${t}'`).join(', ');
        const brokers = describeBrokers(this.r.connection);
        this.failure ??=
          refusalError(err, `KafkaSink writing ${n} record(s) to ${named}`, brokers, { access: 'write', topics }) ??
          unknownTopicError(err, `KafkaSink writing ${n} record(s)`, brokers, topics) ??
          new KafkaConnectorError('KAFKA_SEND_FAILED', `KafkaSink could not write ${n} record(s) to ${named} at ${brokers}: ${describeError(err)}`, { cause: err });
      },
    );
    this.sends.add(send);
    this.track(send);
    void send.finally(() => {
      this.sends.delete(send);
      this.inFlight -= n;
      // Writers resume once a whole batch fits again (or nothing is in flight), not at every ack.
      if (this.failure !== undefined || this.inFlight === 0 || this.inFlight + this.pendingCount + this.r.batchSize <= this.r.maxInFlightRecords) {
        for (const w of this.roomWaiters.splice(0)) w();
      }
    });
  }
}
