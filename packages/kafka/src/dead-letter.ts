/**
 * The dead-letter producer of one source reader: bad records collected during a pollNext burst
 * go out together in one send after it. The producer connects on first use. A failed send fails
 * the reader (a record that can neither be read nor parked must not vanish), and a bounded reader
 * does not end until every dead-letter send is acknowledged. close() is bounded in time, like
 * the consumer's: a dead cluster must not hang the task's shutdown.
 */
import { Partitioners, type Message, type Producer } from 'kafkajs';
import { describeError } from '@sluice/common';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, type ResolvedKafkaConnection } from './connection.js';
import { refusalError } from './errors.js';

/** How long close() waits for the producer to disconnect, after waiting for sends. */
const DISCONNECT_TIMEOUT_MS = 5_000;

export class DeadLetterWriter {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private pending: Message[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;
  sent = 0;

  constructor(
    private readonly connection: ResolvedKafkaConnection,
    readonly topic: string,
    private readonly clientSuffix: string,
    /** Called when a send settles, so the reader re-checks (end of input, failure). */
    private readonly onSettled: () => void,
    /** close() waits at most this long for unacknowledged sends. */
    private readonly closeTimeoutMs: number,
  ) {}

  add(message: Message): void {
    this.pending.push(message);
  }

  /** Sends what `add` collected; returns at once. */
  flush(): void {
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    this.inFlight++;
    this.send(messages).then(
      () => {
        this.sent += messages.length;
        this.settle();
      },
      (err: unknown) => {
        const brokers = describeBrokers(this.connection);
        this.failure ??=
          refusalError(err, `writing ${messages.length} bad record(s) to dead-letter topic '${this.topic}'`, brokers, { access: 'write', topics: [this.topic] }) ??
          new KafkaConnectorError(
            'KAFKA_DEAD_LETTER_FAILED',
            `could not write ${messages.length} bad record(s) to dead-letter topic '${this.topic}' at ${brokers}: ${describeError(err)}`,
            { cause: err },
          );
        this.settle();
      },
    );
  }

  /** The first send failure, if any. */
  error(): Error | undefined {
    return this.failure;
  }

  isIdle(): boolean {
    return this.inFlight === 0 && this.pending.length === 0;
  }

  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.failure === undefined) this.flush();
    const deadline = Date.now() + this.closeTimeoutMs;
    await bounded(this.whenIdle(), this.closeTimeoutMs);
    // A connect still under way gets the rest of the time; then whatever exists is disconnected.
    if (this.producer === undefined && this.connecting !== undefined) await bounded(this.connecting, Math.max(0, deadline - Date.now()));
    const p = this.producer;
    if (p !== undefined) await bounded(p.disconnect(), Math.min(DISCONNECT_TIMEOUT_MS, this.closeTimeoutMs));
  }

  private async send(messages: Message[]): Promise<void> {
    this.connecting ??= (async () => {
      const producer = createKafkaClient(this.connection, `dead-letter-${this.clientSuffix}`).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      this.producer = producer;
      return producer;
    })();
    const producer = await this.connecting;
    await producer.send({ topic: this.topic, messages, acks: -1 });
  }

  private settle(): void {
    this.inFlight--;
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    this.onSettled();
  }
}
