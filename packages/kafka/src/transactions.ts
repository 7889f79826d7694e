/**
 * Kafka transactions for the exactly-once sink, on kafkajs.
 *
 * Two things kafkajs does not offer are needed for a two-phase commit that survives a crash
 * (Flink's KafkaSink needs the same two from the Java client, and gets them by reflection):
 *
 *  - the producer id and epoch of a transaction, stored in the checkpoint: kafkajs logs them at
 *    debug level when it initializes a transactional producer, and a log creator of ours reads
 *    them from that one entry (everything else is forwarded at the level the user chose);
 *  - committing a prepared transaction after a restart, by a process that did not open it: an
 *    EndTxn request with the stored id and epoch, sent through the transaction coordinator that
 *    kafkajs's own (private) cluster object finds. Committing a transaction that was already
 *    committed succeeds, so recovery can always commit what the restored checkpoint covered.
 *
 * Lingering transactions (opened after the restored checkpoint) are aborted by initializing a
 * producer with the same transactional id, which is what Kafka's InitProducerId does.
 */
import { describeError } from '@sluice/common';
import { Kafka, logLevel as kafkaLogLevel, type ICustomPartitioner, type LogEntry, type Producer, type Transaction } from 'kafkajs';
import { bounded, describeBrokers, kafkaConfig, KafkaConnectorError, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { internalCluster, TRANSACTION_COORDINATOR } from './kafkajs-internal.js';

/** What a checkpoint stores for one prepared transaction. */
export interface KafkaCommittable {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  checkpointId: number;
}

/** The exactly-once sink writer's state in a checkpoint. */
export interface KafkaSinkState {
  subtask: number;
  /** Prepared and not yet known to be committed: a restore commits these. */
  transactions: KafkaCommittable[];
  /** Every transactional id the subtask has used: a restore aborts what they left open. */
  transactionalIds: string[];
}

const INIT_LOG_MESSAGE = 'Initialized producer id & epoch';
const DISCONNECT_TIMEOUT_MS = 5_000;

const LEVEL_ORDER: Record<string, number> = { nothing: 0, error: 1, warn: 2, info: 4, debug: 5 };

/** A transactional producer that knows its producer id and epoch. */
export class TransactionalProducer {
  private ids: { producerId: number; producerEpoch: number } | undefined;
  readonly producer: Producer;

  constructor(
    private readonly c: ResolvedKafkaConnection,
    readonly transactionalId: string,
    transactionTimeoutMs: number,
    partitioner: ICustomPartitioner,
  ) {
    const forwardUpTo = LEVEL_ORDER[c.logLevel] ?? 0;
    const kafka = new Kafka({
      ...kafkaConfig(c, `txn-${transactionalId}`),
      logLevel: kafkaLogLevel.DEBUG,
      logCreator: () => (entry: LogEntry) => {
        const log = entry.log as { message?: string; producerId?: unknown; producerEpoch?: unknown };
        if (log.message === INIT_LOG_MESSAGE && log.producerId !== undefined) {
          this.ids = { producerId: Number(log.producerId), producerEpoch: Number(log.producerEpoch) };
        }
        if (entry.level <= forwardUpTo && entry.level > 0) console.error(JSON.stringify({ level: entry.label, namespace: entry.namespace, ...entry.log }));
      },
    });
    this.producer = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true, transactionTimeout: transactionTimeoutMs, allowAutoTopicCreation: false, createPartitioner: partitioner });
  }

  async connect(timeoutMs: number, topics: string[]): Promise<void> {
    await withKafkaDeadline(this.c, `connecting the transactional producer '${this.transactionalId}'`, timeoutMs, () => this.producer.connect(), { access: 'write', topics });
  }

  /** Starts a transaction (the first one initializes the producer, aborting what its id left open). */
  async begin(timeoutMs: number): Promise<Transaction> {
    const txn = await withKafkaDeadline(this.c, `starting a transaction with transactional id '${this.transactionalId}'`, timeoutMs, () => this.producer.transaction(), {
      access: 'write',
      topics: [],
    });
    if (this.ids === undefined) {
      throw new KafkaConnectorError('KAFKA_TRANSACTION_STATE', `could not learn the producer id of transactional id '${this.transactionalId}' (kafkajs did not report it); this kafkajs version is not supported by the exactly-once sink`);
    }
    return txn;
  }

  committable(checkpointId: number): KafkaCommittable {
    if (this.ids === undefined) throw new KafkaConnectorError('KAFKA_TRANSACTION_STATE', `transactional id '${this.transactionalId}' has no producer id yet`);
    return { transactionalId: this.transactionalId, ...this.ids, checkpointId };
  }

  async close(): Promise<void> {
    await bounded(this.producer.disconnect(), DISCONNECT_TIMEOUT_MS);
  }
}

/**
 * Commits prepared transactions a restored checkpoint covered. Committing one that was already
 * committed succeeds; one that expired meanwhile fails with an error saying so.
 */
export async function recoverCommit(c: ResolvedKafkaConnection, committables: readonly KafkaCommittable[], timeoutMs: number): Promise<void> {
  if (committables.length === 0) return;
  const cluster = internalCluster(c, 'txn-recovery', 'the exactly-once Kafka sink to recover transactions');
  try {
    await withKafkaDeadline(c, 'connecting to recover Kafka transactions', timeoutMs, () => cluster.connect());
    for (const t of committables) {
      try {
        await withKafkaDeadline(c, `committing transaction '${t.transactionalId}' of checkpoint ${t.checkpointId}`, timeoutMs, async () => {
          const broker = await cluster.findGroupCoordinator({ groupId: t.transactionalId, coordinatorType: TRANSACTION_COORDINATOR });
          await broker.endTxn({ producerId: t.producerId, producerEpoch: t.producerEpoch, transactionalId: t.transactionalId, transactionResult: true });
        });
      } catch (err) {
        throw new KafkaConnectorError(
          'KAFKA_TRANSACTION_RECOVERY_FAILED',
          `could not commit Kafka transaction '${t.transactionalId}' (producer ${t.producerId}, epoch ${t.producerEpoch}) of checkpoint ${t.checkpointId} at ${describeBrokers(c)}: ${describeError(err)}. ` +
            'If it expired (the broker aborts transactions older than their timeout), its records are lost: raise transactionTimeoutMs above the time a job may stay down.',
          { cause: err },
        );
      }
    }
  } finally {
    await bounded(cluster.disconnect(), DISCONNECT_TIMEOUT_MS);
  }
}

/** Aborts whatever the given transactional ids left open, by initializing each once. */
export async function abortLingering(c: ResolvedKafkaConnection, transactionalIds: readonly string[], transactionTimeoutMs: number, partitioner: ICustomPartitioner, timeoutMs: number): Promise<void> {
  await Promise.all(
    transactionalIds.map(async (id) => {
      const p = new TransactionalProducer(c, id, transactionTimeoutMs, partitioner);
      try {
        await p.connect(timeoutMs, []);
        const txn = await p.begin(timeoutMs);
        await txn.abort();
      } finally {
        await p.close();
      }
    }),
  );
}
