/**
 * Periodic partition discovery, run by each unbounded reader on its own: every interval it lists
 * the partitions of the source's topics (or of every topic matching the pattern, so new topics
 * count too) and takes the new ones that belong to its subtask. Ownership is `subtaskForSplit`,
 * the same function the enumerator's `assignSplit` deals the initial splits with, so every
 * partition has exactly one reader without the readers talking to each other or to the
 * JobMaster. A new partition is read from its first offset (all of it is new data).
 */
import { describeError } from '@sluice/common';
import type { Admin } from 'kafkajs';
import { bounded, createKafkaClient, describeBrokers, KafkaConnectorError, withKafkaDeadline, type ResolvedKafkaConnection } from './connection.js';
import { matchTopics, type KafkaTopicSelection } from './enumerate.js';
import { splitIdOf, subtaskForSplit, type KafkaPartitionSplit } from './split.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Pure: partitions of `listed` owned by `subtask` that are not in `known` (keys `topic\0partition`). */
export function newOwnedPartitions(listed: ReadonlyMap<string, readonly number[]>, known: ReadonlySet<string>, subtask: number, parallelism: number): TopicPartition[] {
  const out: TopicPartition[] = [];
  for (const [topic, partitions] of [...listed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      if (known.has(partitionKey(topic, partition))) continue;
      if (subtaskForSplit({ topic, partition }, parallelism) === subtask) out.push({ topic, partition });
    }
  }
  return out;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export interface PartitionDiscoveryOptions {
  connection: ResolvedKafkaConnection;
  selection: KafkaTopicSelection;
  intervalMs: number;
  /** Upper bound for one discovery round. */
  timeoutMs: number;
  subtask: number;
  parallelism: number;
  /** Consecutive failed rounds after which the reader fails. */
  maxConsecutiveFailures: number;
}

export interface PartitionDiscoveryHandlers {
  /** Partitions this reader already has (initial splits and earlier discoveries). */
  known(): ReadonlySet<string>;
  onNewSplits(splits: KafkaPartitionSplit[]): void;
  onFailure(err: Error): void;
}

export class PartitionDiscovery {
  private admin: Admin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  /** Rounds run and partitions found, for tests (and later metrics). */
  readonly counts = { rounds: 0, discovered: 0, failedRounds: 0 };

  constructor(private readonly o: PartitionDiscoveryOptions, private readonly handlers: PartitionDiscoveryHandlers) {}

  start(): void {
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await bounded(admin.disconnect(), 2_000);
  }

  /** One round now (the timer calls this; tests may too). Never throws. */
  async discover(): Promise<void> {
    try {
      const found = await withKafkaDeadline(this.o.connection, 'discovering new Kafka partitions', this.o.timeoutMs, () => this.round());
      this.failures = 0;
      this.counts.rounds++;
      if (found.length > 0 && !this.closed) {
        this.counts.discovered += found.length;
        this.handlers.onNewSplits(found);
      }
    } catch (err) {
      this.counts.failedRounds++;
      // A fresh admin client next round: the old one may be stuck on a dead connection.
      const admin = this.admin;
      this.admin = undefined;
      if (admin !== undefined) void bounded(admin.disconnect(), 2_000);
      if (++this.failures >= this.o.maxConsecutiveFailures && !this.closed) {
        this.handlers.onFailure(
          new KafkaConnectorError(
            'KAFKA_DISCOVERY_FAILED',
            `Kafka partition discovery failed ${this.failures} times in a row (bootstrap servers: ${describeBrokers(this.o.connection)}): ${describeError(err)}`,
            { retriable: true, cause: err },
          ),
        );
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.discover().then(() => this.schedule());
    }, this.o.intervalMs);
    // The reader's task keeps the thread alive; a forgotten timer must not.
    this.timer.unref();
  }

  private async round(): Promise<KafkaPartitionSplit[]> {
    const admin = await this.client();
    const topics = 'topics' in this.o.selection ? [...this.o.selection.topics] : matchTopics(this.o.selection.topicPattern, await admin.listTopics());
    if (topics.length === 0) return [];
    const metadata = await admin.fetchTopicMetadata({ topics });
    const listed = new Map<string, number[]>();
    // A partition without a leader yet (just created) is taken in a later round.
    for (const t of metadata.topics) listed.set(t.name, t.partitions.filter((p) => p.leader >= 0).map((p) => p.partitionId));
    // Every partition found here was created after the job's splits were enumerated, so it is
    // read from its first offset, 0. (Should retention already have removed records, the
    // consumer's out-of-range reset moves to the log start: this source subscribes from the
    // beginning.) Asking the brokers for offsets instead fails for a moment after a partition is
    // created (NOT_LEADER_FOR_PARTITION).
    return newOwnedPartitions(listed, this.handlers.known(), this.o.subtask, this.o.parallelism).map((p) => ({
      splitId: splitIdOf(p.topic, p.partition),
      topic: p.topic,
      partition: p.partition,
      offset: 0,
    }));
  }

  private async client(): Promise<Admin> {
    if (this.admin !== undefined) return this.admin;
    const admin = createKafkaClient(this.o.connection, `discovery-${this.o.subtask}`).admin();
    await admin.connect();
    if (this.closed) {
      void bounded(admin.disconnect(), 2_000);
      throw new Error('partition discovery closed');
    }
    this.admin = admin;
    return admin;
  }
}
