/**
 * A kafkajs consumer that reads exactly the partitions Sluice chose, from offsets Sluice tracks.
 * kafkajs 2.x has no `assign()`, so each reader gets a private consumer group (unique id) whose
 * fixed assigner gives the one member every partition; nothing is ever committed. After `run()`
 * and after every group (re)join the consumer is sought to the reader's own positions, because a
 * join rebuilds kafkajs's offset manager from the group's committed offsets, which are none.
 *
 * Callbacks only hand data to the reader (no state here beyond the kafkajs objects); they run on
 * the worker thread's event loop, between the task's pollNext bursts.
 */
import type { Consumer, KafkaMessage } from 'kafkajs';
import { describeError } from '@sluice/common';
import { fixedPartitionAssigner } from './assigner.js';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { refusalError, type RefusalSubject } from './errors.js';

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export interface PartitionConsumerHandlers {
  /** Records of one partition, in offset order; `lastOffset` includes records kafkajs filtered out. */
  onBatch(topic: string, partition: number, messages: KafkaMessage[], lastOffset: number, highWatermark: number): void;
  /** A batch with nothing for the user (only transaction markers or aborted records). */
  onSkipped(topic: string, partition: number, lastOffset: number): void;
  /** Where each still-fetching partition must continue. */
  positions(): TopicPartitionOffset[];
  /** The consumer stopped for good. */
  onFailure(err: Error): void;
}

export interface PartitionConsumerOptions {
  connection: ResolvedKafkaConnection;
  groupId: string;
  partitions: readonly { topic: string; partition: number }[];
  maxWaitTimeMs: number;
  maxBytesPerPartition: number;
  startTimeoutMs: number;
  /** kafkajs may restart a crashed consumer this many times (retriable errors only) before the reader fails. */
  maxRestarts: number;
}

export class PartitionConsumer {
  private closed = false;

  private constructor(private readonly o: PartitionConsumerOptions, private readonly consumer: Consumer, private readonly handlers: PartitionConsumerHandlers) {}

  static async start(o: PartitionConsumerOptions, handlers: PartitionConsumerHandlers): Promise<PartitionConsumer> {
    const assignment: Record<string, number[]> = {};
    for (const p of o.partitions) (assignment[p.topic] ??= []).push(p.partition);
    const kafka = createKafkaClient(o.connection, `source-${o.groupId}`);
    let restarts = 0;
    const consumer = kafka.consumer({
      groupId: o.groupId,
      partitionAssigners: [fixedPartitionAssigner(() => assignment)],
      maxWaitTimeInMs: o.maxWaitTimeMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      retry: {
        retries: o.connection.retries,
        maxRetryTime: o.connection.maxRetryTimeMs,
        restartOnFailure: async () => ++restarts <= o.maxRestarts,
      },
    });
    const pc = new PartitionConsumer(o, consumer, handlers);
    const subject: RefusalSubject = { access: 'read', topics: Object.keys(assignment), group: o.groupId };
    consumer.on(consumer.events.GROUP_JOIN, () => pc.seekAll());
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.batchSize === 0) handlers.onSkipped(e.payload.topic, e.payload.partition, Number(e.payload.lastOffset));
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || pc.closed) return;
      const what = `Kafka consumer for ${describePartitions(o.partitions)}`;
      handlers.onFailure(
        refusalError(e.payload.error, what, describeBrokers(o.connection), subject) ??
          new KafkaConnectorError('KAFKA_CONSUMER_FAILED', `${what} at ${describeBrokers(o.connection)} stopped: ${describeError(e.payload.error)}`, {
            retriable: true,
            cause: e.payload.error,
          }),
      );
    });
    try {
      await withKafkaDeadline(o.connection, `starting a consumer for ${describePartitions(o.partitions)}`, o.startTimeoutMs, async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: Object.keys(assignment), fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch }) => {
            handlers.onBatch(batch.topic, batch.partition, batch.messages, Number(batch.lastOffset()), Number(batch.highWatermark));
          },
        });
      }, subject);
    } catch (err) {
      pc.closed = true;
      await bounded(consumer.disconnect(), 5_000);
      throw err;
    }
    pc.seekAll();
    return pc;
  }

  pause(partitions: readonly { topic: string; partition: number }[]): void {
    if (partitions.length === 0 || this.closed) return;
    this.consumer.pause(group(partitions));
  }

  resume(partitions: readonly { topic: string; partition: number }[]): void {
    if (partitions.length === 0 || this.closed) return;
    this.consumer.resume(group(partitions));
  }

  /** Leaves the group and deletes it (best effort: a leftover empty group expires on its own). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await bounded(this.consumer.disconnect(), 5_000);
    const admin = createKafkaClient(this.o.connection, `cleanup-${this.o.groupId}`).admin();
    await bounded(
      (async () => {
        await admin.connect();
        await admin.deleteGroups([this.o.groupId]);
      })(),
      3_000,
    );
    await bounded(admin.disconnect(), 2_000);
  }

  private seekAll(): void {
    if (this.closed) return;
    for (const p of this.handlers.positions()) {
      try {
        this.consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
      } catch {
        // Not running yet (a join during run()): the seek right after run() covers it.
      }
    }
  }
}

function group(partitions: readonly { topic: string; partition: number }[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) {
    const list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, [p.partition]);
    else list.push(p.partition);
  }
  return [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
}

function describePartitions(partitions: readonly { topic: string; partition: number }[]): string {
  const g = group(partitions);
  return g.map((t) => `${t.topic}[${t.partitions.join(',')}]`).join(' ');
}
