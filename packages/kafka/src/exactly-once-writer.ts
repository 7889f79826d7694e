/**
 * The exactly-once KafkaSink writer: a two-phase commit per checkpoint.
 *
 *   - Records go into the open transaction (batched like the other guarantees).
 *   - At a checkpoint barrier the open transaction is closed for writing — records after the
 *     barrier go into a new one, on another transactional producer from a small per-subtask
 *     pool — and once all its sends are acknowledged it is *prepared*: its producer id and
 *     epoch go into the checkpoint.
 *   - When the checkpoint completes, prepared transactions up to it are committed. A
 *     checkpoint that is aborted leaves its transaction prepared; the next completed one
 *     commits it.
 *   - On restore, the transactions the checkpoint covered are committed (they may have been
 *     committed already; that is fine), and whatever the subtask's transactional ids left open
 *     afterwards is aborted, so read_committed consumers are not held back.
 *   - A bounded input ends with a final checkpoint, whose completion commits the last
 *     transaction before the task finishes.
 */
import { ConfigurationError, describeError } from '@sluice/common';
import type { SinkWriter, SinkWriterContext } from '@sluice/api';
import type { Transaction } from 'kafkajs';
import { bounded, KafkaConnectorError } from './connection.js';
import type { ResolvedSink } from './sink.js';
import { KafkaSinkWriter, type TopicMessages } from './sink-writer.js';
import { KafkaSinkMetrics } from './kafka-metrics.js';
import { abortLingering, recoverCommit, TransactionalProducer, type KafkaCommittable, type KafkaSinkState } from './transactions.js';

interface OpenTransaction {
  producer: TransactionalProducer;
  /** Resolves once the producer is connected and the transaction begun. */
  txn: Promise<Transaction>;
  records: number;
  committable?: KafkaCommittable;
}

/** Transactional ids beyond the highest one known to be used that a start also aborts. */
const EXTRA_IDS_TO_ABORT = 2;

export async function createExactlyOnceWriter<T>(r: ResolvedSink<T>, ctx: SinkWriterContext): Promise<SinkWriter<T>> {
  const cp = ctx.checkpointing;
  if (cp === undefined || cp.intervalMs <= 0) {
    throw new ConfigurationError("KafkaSink deliveryGuarantee 'exactly-once' commits a transaction per checkpoint, but checkpointing is off: call env.enableCheckpointing(intervalMs) or pass --checkpoint-interval");
  }
  if (r.transactionTimeoutMs < cp.intervalMs + cp.timeoutMs) {
    throw new ConfigurationError(
      `KafkaSink transactionTimeoutMs (${r.transactionTimeoutMs} ms) is shorter than the checkpoint interval plus the checkpoint timeout (${cp.intervalMs} + ${cp.timeoutMs} ms): ` +
        'a transaction could be aborted by the broker before its checkpoint commits it. Raise transactionTimeoutMs (up to the broker\'s transaction.max.timeout.ms) or lower the checkpoint timeout.',
    );
  }
  const subtask = ctx.taskInfo.subtaskIndex;
  const prefix = r.transactionalIdPrefix!;
  const states = (ctx.restoredState ?? []) as KafkaSinkState[];
  // Commit what the restored checkpoint covered, then abort what came after it.
  const metrics = new KafkaSinkMetrics(ctx.metrics);
  const recovered = states.flatMap((s) => s.transactions);
  await recoverCommit(r.connection, recovered, r.connectTimeoutMs);
  if (recovered.length > 0) metrics.transaction('recovered', recovered.length);
  const known = new Set<string>(states.flatMap((s) => s.transactionalIds));
  const own = (n: number): string => `${prefix}-${subtask}-${n}`;
  const ownUsed = [...known].filter((id) => id.startsWith(`${prefix}-${subtask}-`)).map((id) => Number(id.slice(`${prefix}-${subtask}-`.length)));
  const highest = ownUsed.length === 0 ? 1 : Math.max(...ownUsed);
  for (let n = 0; n <= highest + EXTRA_IDS_TO_ABORT; n++) known.add(own(n));
  await abortLingering(r.connection, [...known], r.transactionTimeoutMs, r.partitioner, r.connectTimeoutMs);
  const writer = new ExactlyOnceKafkaWriter<T>(r, subtask, own, metrics);
  await writer.start();
  return writer;
}

class ExactlyOnceKafkaWriter<T> extends KafkaSinkWriter<T> {
  private readonly idle: TransactionalProducer[] = [];
  private readonly producers: TransactionalProducer[] = [];
  private current!: OpenTransaction;
  /** Prepared transactions by checkpoint id, oldest first. */
  private readonly prepared = new Map<number, OpenTransaction>();

  constructor(
    r: ResolvedSink<T>,
    private readonly subtask: number,
    private readonly idFor: (n: number) => string,
    metrics: KafkaSinkMetrics,
  ) {
    super(r, undefined, metrics);
  }

  async start(): Promise<void> {
    this.current = this.open();
    await this.current.txn;
  }

  snapshotState(checkpointId: number): Promise<KafkaSinkState> {
    // Records written from now on go into a new transaction; those queued before the barrier
    // still go into the closing one, ahead of the new one's.
    const closing = this.current;
    this.prepared.set(checkpointId, closing);
    this.current = this.open();
    this.sendPending();
    return (async () => {
      await closing.txn;
      await this.sentAll(closing);
      if (this.failure !== undefined) throw this.failure;
      if (closing.records > 0) closing.committable = closing.producer.committable(checkpointId);
      return this.state();
    })();
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const [id, t] of this.prepared) {
      if (id > checkpointId) break;
      await this.commit(t);
      this.prepared.delete(id);
    }
  }

  override async flush(endOfInput: boolean): Promise<void> {
    this.sendPending();
    if (!endOfInput) return;
    await this.drain();
    // Prepared transactions are committed when their checkpoint completes — the task waits for
    // that before it finishes (the final checkpoint comes after the last record). Committing
    // them here could publish records a restart from an earlier checkpoint then writes again.
    // Records after the final barrier (none, unless an operator emits while finishing) go out now.
    if (this.current.records > 0) {
      await this.commit(this.current);
      this.current = this.open();
    }
  }

  override async close(): Promise<void> {
    await super.close();
    // Prepared transactions stay open for a restore to commit; the current one is aborted now
    // rather than left to time out and hold read_committed consumers back.
    const current = this.current;
    if (current !== undefined) {
      await bounded(
        current.txn.then((t) => t.abort()).then(() => this.metrics.transaction('aborted')),
        this.r.closeTimeoutMs,
      ).catch(() => undefined);
    }
    await Promise.all(this.producers.map((p) => p.close()));
  }

  protected override target(): OpenTransaction {
    return this.current;
  }

  protected override dispatch(topicMessages: TopicMessages, target: unknown): Promise<unknown> {
    const t = target as OpenTransaction;
    t.records += topicMessages.reduce((n, m) => n + m.messages.length, 0);
    return t.txn.then((txn) => txn.sendBatch({ topicMessages, acks: -1 }));
  }

  protected override async disconnect(): Promise<void> {
    // Producers are closed after the open transaction is dealt with (close()).
  }

  private open(): OpenTransaction {
    let producer = this.idle.pop();
    let ready: Promise<unknown>;
    if (producer === undefined) {
      producer = new TransactionalProducer(this.r.connection, this.idFor(this.producers.length), this.r.transactionTimeoutMs, this.r.partitioner);
      this.producers.push(producer);
      const p = producer;
      ready = p.connect(this.r.connectTimeoutMs, typeof this.r.topic === 'string' ? [this.r.topic] : []);
    } else ready = Promise.resolve();
    const p = producer;
    const txn = ready.then(() => p.begin(this.r.connectTimeoutMs));
    txn.catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new KafkaConnectorError('KAFKA_TRANSACTION_FAILED', describeError(err));
    });
    return { producer, txn, records: 0 };
  }

  private async commit(t: OpenTransaction): Promise<void> {
    const txn = await t.txn;
    await this.sentAll(t);
    if (this.failure !== undefined) throw this.failure;
    try {
      await txn.commit();
    } catch (err) {
      throw new KafkaConnectorError('KAFKA_COMMIT_FAILED', `could not commit Kafka transaction '${t.producer.transactionalId}': ${describeError(err)}`, { cause: err });
    }
    this.metrics.transaction('committed');
    this.idle.push(t.producer);
  }

  private state(): KafkaSinkState {
    const transactions = [...this.prepared.values()].flatMap((t) => (t.committable === undefined ? [] : [t.committable]));
    return { subtask: this.subtask, transactions, transactionalIds: this.producers.map((p) => p.transactionalId) };
  }
}
