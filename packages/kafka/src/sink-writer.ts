/**
 * The KafkaSink writer for 'none' and 'at-least-once': records are serialized on write and
 * queued, then sent as produce requests — when `batchSize` records wait, or after `lingerMs` —
 * with at most `maxInFlightRecords` unacknowledged; past that `write` returns a promise, which
 * backpressures the task. A failed send fails the task. The exactly-once writer extends it and
 * sends into transactions instead.
 *
 * Order: by default one request is in flight at a time (`maxConcurrentSends` 1, like the Java
 * client's max.in.flight.requests.per.connection=1 without idempotence), and records that queue
 * up meanwhile go out together in the next request, up to `maxRequestBytes`. kafkajs retries a
 * failed request before it settles, so a retried request can never land behind a later one and
 * the records of each partition reach Kafka in the order they were written. A writer allowed
 * several concurrent sends trades that guarantee for throughput.
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

function messageBytes(m: Message): number {
  return byteLength(m.key) + byteLength(m.value);
}

/**
 * Bytes a record may add to a record batch besides its key and value: length, attributes,
 * timestamp and offset deltas, key and value lengths and the header count, each a varint.
 */
const RECORD_OVERHEAD_BYTES = 24;

/** What a record adds to a produce request besides its key and value, rounded up: headers and varint framing. */
function framingBytes(m: Message): number {
  let n = RECORD_OVERHEAD_BYTES;
  if (m.headers !== undefined) {
    for (const [k, v] of Object.entries(m.headers)) {
      const values = Array.isArray(v) ? v : [v];
      for (const one of values) n += Buffer.byteLength(k) + byteLength(one as Message['value']) + 10;
    }
  }
  return n;
}

/** How long close() waits for the producer to disconnect. */
const DISCONNECT_TIMEOUT_MS = 5_000;

export type TopicMessages = { topic: string; messages: Message[] }[];

/** One produce request: its records by topic, how many, and each topic entry's key and value bytes (for the metrics). */
interface Request {
  topicMessages: TopicMessages;
  count: number;
  keyValueBytes: number[];
}

/**
 * Records waiting to be sent that share one dispatch target (for the exactly-once writer, the
 * transaction they belong to; a single target otherwise), by topic in write order.
 */
interface Queued {
  readonly target: unknown;
  readonly byTopic: Map<string, Message[]>;
  count: number;
}

/**
 * Takes the oldest records of `q`, at most `maxBytes` of them as encoded but at least one record,
 * keeping each topic's order; what is left stays at the front of `q`.
 */
function takeRequest(q: Queued, maxBytes: number): Request {
  const topicMessages: TopicMessages = [];
  const keyValueBytes: number[] = [];
  let count = 0;
  let bytes = 0;
  for (const [topic, messages] of q.byTopic) {
    let i = 0;
    let topicBytes = 0;
    while (i < messages.length) {
      const m = messages[i]!;
      const keyValue = messageBytes(m);
      const size = keyValue + framingBytes(m);
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      topicBytes += keyValue;
      count++;
      i++;
    }
    if (i > 0) keyValueBytes.push(topicBytes);
    if (i === messages.length) {
      topicMessages.push({ topic, messages });
      q.byTopic.delete(topic);
      continue;
    }
    if (i > 0) {
      topicMessages.push({ topic, messages: messages.slice(0, i) });
      q.byTopic.set(topic, messages.slice(i));
    }
    break;
  }
  q.count -= count;
  return { topicMessages, count, keyValueBytes };
}

/** @internal exported for the unit tests (with a testing producer) */
export class KafkaSinkWriter<T> implements SinkWriter<T> {
  /** Records not sent yet, oldest first; the last entry takes new writes while its target is current. */
  private readonly queue: Queued[] = [];
  private pendingCount = 0;
  private inFlight = 0;
  /** Requests in flight, with the target each was sent to. */
  private readonly sends = new Map<Promise<void>, unknown>();
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
    const target = this.target();
    let q = this.queue[this.queue.length - 1];
    if (q === undefined || q.target !== target) this.queue.push((q = { target, byTopic: new Map(), count: 0 }));
    let list = q.byTopic.get(topic);
    if (list === undefined) q.byTopic.set(topic, (list = []));
    list.push(message);
    q.count++;
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
    await bounded(this.settled(), this.r.closeTimeoutMs);
    await this.disconnect();
    // Anyone still waiting for room must not wait forever.
    this.failure ??= new KafkaConnectorError('KAFKA_SINK_CLOSED', 'KafkaSink writer is closed');
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Sends everything queued and waits until all of it is acknowledged; throws the first failure. */
  protected async drain(): Promise<void> {
    this.sendPending();
    await this.settled();
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Waits until no record written for `target` is queued or in flight, or a send has failed (the
   * caller checks `failure`). Records of other targets queued behind them may still be pending.
   */
  protected async sentAll(target: unknown): Promise<void> {
    const waiting = (): boolean => this.queue.some((q) => q.target === target) || [...this.sends.values()].includes(target);
    while (this.failure === undefined && waiting()) {
      if (this.sends.size === 0) this.sendPending();
      await Promise.allSettled([...this.sends.keys()]);
    }
  }

  /** Until nothing is in flight: the queue is sent request after request, unless a send fails. */
  private async settled(): Promise<void> {
    while (this.sends.size > 0) await Promise.allSettled([...this.sends.keys()]);
  }

  /** Where records written now go: the exactly-once writer's open transaction; one target otherwise. */
  protected target(): unknown {
    return undefined;
  }

  /** Sends one request to `target`; the exactly-once writer sends into that transaction instead. */
  protected dispatch(topicMessages: TopicMessages, _target: unknown): Promise<unknown> {
    return this.producer!.sendBatch({ topicMessages, acks: this.r.deliveryGuarantee === 'none' ? 1 : -1 });
  }

  protected async disconnect(): Promise<void> {
    if (this.producer !== undefined) await bounded(this.producer.disconnect(), Math.min(DISCONNECT_TIMEOUT_MS, this.r.closeTimeoutMs));
  }

  private cancelLinger(): void {
    if (this.linger === undefined) return;
    if (this.r.lingerMs === 0) clearImmediate(this.linger as NodeJS.Immediate);
    else clearTimeout(this.linger as NodeJS.Timeout);
    this.linger = undefined;
  }

  /**
   * Starts requests for queued records, oldest first, while fewer than `maxConcurrentSends` are in
   * flight. Whatever cannot go now goes when a request settles.
   */
  protected sendPending(): void {
    this.cancelLinger();
    while (this.failure === undefined && this.sends.size < this.r.maxConcurrentSends) {
      const q = this.queue[0];
      if (q === undefined) return;
      const request = takeRequest(q, this.r.maxRequestBytes);
      if (q.count === 0) this.queue.shift();
      this.send(request, q.target);
    }
  }

  private send({ topicMessages, count: n, keyValueBytes }: Request, target: unknown): void {
    this.pendingCount -= n;
    this.inFlight += n;
    const sentAt = performance.now();
    const send: Promise<void> = this.dispatch(topicMessages, target).then(
      () => {
        const seconds = (performance.now() - sentAt) / 1000;
        topicMessages.forEach(({ topic, messages }, i) => this.metrics.acknowledged(topic, messages.length, keyValueBytes[i]!, seconds));
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
    this.sends.set(send, target);
    void send.finally(() => {
      this.sends.delete(send);
      this.inFlight -= n;
      // Records that queued up behind this request go out now, in order.
      this.sendPending();
      // Writers resume once a whole batch fits again (or nothing is in flight), not at every ack.
      if (this.failure !== undefined || this.inFlight === 0 || this.inFlight + this.pendingCount + this.r.batchSize <= this.r.maxInFlightRecords) {
        for (const w of this.roomWaiters.splice(0)) w();
      }
    });
  }
}
