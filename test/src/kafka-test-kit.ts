/**
 * The test side of the Kafka broker tests: one kafkajs admin and producer per test file, topics
 * with unique names (no test sees another's data), and readers that wait for an exact number of
 * records instead of sleeping. Talks to the run's broker only (kafka-global-setup.ts).
 *
 * What a test writes lands in the topic exactly once: the producers are idempotent, and a new
 * topic is used only once its partitions' leaders serve it. (A plain kafkajs producer retries a
 * whole request when one partition of it is refused — NOT_LEADER_FOR_PARTITION right after the
 * topic was created, under load — and so writes the other partitions' records twice.)
 */
import { Kafka, Partitioners, logLevel, type Admin, type IHeaders, type Message, type Producer } from 'kafkajs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomId } from '@sluice/common';
import { runJob, type RunJobOptions } from './harness.js';
import type { JobResult } from '@sluice/protocol';

const execFileAsync = promisify(execFile);

export interface ReadBack {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: IHeaders;
}

export class KafkaTestKit {
  readonly kafka: Kafka;
  admin!: Admin;
  producer!: Producer;

  constructor(readonly bootstrap: string, clientId: string) {
    this.kafka = new Kafka({ brokers: [bootstrap], clientId, logLevel: logLevel.NOTHING });
  }

  async open(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.producer = this.newProducer();
    await this.producer.connect();
  }

  /** Idempotent: the broker drops a batch a retry sends again (same producer id and sequence). */
  private newProducer(): Producer {
    return this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }

  /**
   * A new topic, by default with a unique random name. Time-based retention is off: tests write
   * records with event-time timestamps near the epoch (1970) or years old, and the broker's
   * retention check (every 5 minutes; 24 h retention) deletes such records whenever it runs,
   * possibly before the job or the test has read them (a gap at the start of a partition).
   */
  async topic(partitions = 1, name = `t-${randomId(6)}`): Promise<string> {
    try {
      await this.admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
        waitForLeaders: true,
      });
    } catch (err) {
      // On a busy machine the broker may not know the new topic's partitions yet when kafkajs
      // waits for their leaders (UNKNOWN_TOPIC_OR_PARTITION, retriable): the loop below waits.
      if ((err as { retriable?: unknown }).retriable !== true) throw err;
    }
    // Metadata names a leader for each partition before that broker leads it: until it does,
    // requests for the partition are refused (NOT_LEADER_FOR_PARTITION). Ask for offsets until
    // every partition answers.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.admin.fetchTopicOffsets(name);
        return name;
      } catch (err) {
        if ((err as { retriable?: unknown }).retriable !== true || attempt >= 100) throw err;
        await sleep(100);
      }
    }
  }

  /**
   * Sends with a new producer: kafkajs's long-lived one keeps the partition list it first saw,
   * and silently drops records addressed to partitions added since (createPartitions).
   */
  async sendFresh(topic: string, messages: Message[]): Promise<void> {
    const producer = this.newProducer();
    await producer.connect();
    try {
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
  }

  /** Records in `topic` (sum of the partitions' high watermarks). */
  async count(topic: string): Promise<number> {
    return (await this.admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  }

  /** Waits until `topic` holds at least `n` records. */
  async waitForCount(topic: string, n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let have = await this.count(topic); have < n; have = await this.count(topic)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${n} records in topic '${topic}' (it has ${have})`);
      await sleep(100);
    }
  }

  /**
   * Offsets `groupId` has committed for `topic`, by partition (none yet: empty). A coordinator
   * still settling for a new group answers with a retriable error: that counts as none yet.
   */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    try {
      for (const t of await this.admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const p of t.partitions) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
      }
    } catch (err) {
      if ((err as { retriable?: unknown }).retriable !== true) throw err;
    }
    return out;
  }

  /** Waits until the offsets `groupId` committed for `topic` satisfy `done`. */
  async waitForCommitted(groupId: string, topic: string, done: (offsets: ReadonlyMap<number, number>) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let offsets = await this.committedOffsets(groupId, topic); !done(offsets); offsets = await this.committedOffsets(groupId, topic)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for group '${groupId}' to commit the expected offsets of '${topic}' (it has ${JSON.stringify([...offsets])})`);
      await sleep(100);
    }
  }

  /** Every record of `topic` (waiting until there are at least `count`), read by a plain kafkajs consumer. */
  async readAll(topic: string, count: number, timeoutMs = 20_000): Promise<ReadBack[]> {
    await this.waitForCount(topic, count, timeoutMs);
    const total = await this.count(topic);
    const consumer = this.kafka.consumer({ groupId: `reader-${randomId(6)}`, maxWaitTimeInMs: 100 });
    const out: ReadBack[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      await consumer.run({
        eachMessage: async ({ topic: t, partition, message }) => {
          out.push({
            topic: t,
            partition,
            offset: Number(message.offset),
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            timestamp: Number(message.timestamp),
            headers: message.headers ?? {},
          });
          if (out.length >= total) done();
        },
      });
      const timer = setTimeout(done, timeoutMs);
      await finished;
      clearTimeout(timer);
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  /**
   * What a read_committed consumer sees of a topic written in transactions: reads until
   * `expected` records arrived, then `quietMs` longer, so any extra (duplicate) records show up
   * too. Offsets cannot be counted here: transaction markers and aborted records take offsets.
   */
  async readCommitted(topic: string, expected: number, timeoutMs = 60_000, quietMs = 1_500): Promise<ReadBack[]> {
    const consumer = this.kafka.consumer({ groupId: `reader-${randomId(6)}`, maxWaitTimeInMs: 100, readUncommitted: false });
    const out: ReadBack[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic: t, partition, message }) => {
          out.push({ topic: t, partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, timestamp: Number(message.timestamp), headers: message.headers ?? {} });
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (out.length < expected && Date.now() < deadline) await sleep(50);
      await sleep(quietMs);
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  /**
   * The topic as Kafka's own Java console consumer reads it with isolation read_committed: the
   * reference for what a transactional writer committed. Values, one per record.
   */
  async readCommittedWithJava(topic: string, idleMs = 5_000): Promise<string[]> {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const { stdout } = await execFileAsync(
      'bash',
      ['infra/kafka/kafka.sh', 'tool', 'org.apache.kafka.tools.consumer.ConsoleConsumer', '--bootstrap-server', this.bootstrap, '--topic', topic, '--from-beginning', '--isolation-level', 'read_committed', '--timeout-ms', String(idleMs)],
      { cwd: root, maxBuffer: 1 << 28 },
    );
    return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Processed a total'));
  }

  /**
   * Commits `offsets` for consumer group `groupId` the way an application's consumer does (a
   * member of the group committing), rather than through admin.setOffsets.
   */
  async commitGroupOffsets(groupId: string, topic: string, offsets: readonly { partition: number; offset: number }[]): Promise<void> {
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
      await joined;
      await consumer.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })));
    } finally {
      await consumer.disconnect();
    }
  }

  /**
   * Runs an unbounded job until `until` resolves, then cancels it; resolves with its result
   * (which must be CANCELED, not FAILED).
   */
  async runUntil(file: string, options: RunJobOptions, until: () => Promise<void>): Promise<JobResult> {
    const abort = new AbortController();
    const job = runJob(file, { ...options, embedded: { ...options.embedded, signal: abort.signal } });
    // A job that ends early must not leave `until` waiting for output that never comes.
    const early = job.then((r) => Promise.reject(new Error(`job ended before the test was done: ${r.status}${r.error === undefined ? '' : ` (${r.error.message})`}`)));
    early.catch(() => undefined);
    try {
      await Promise.race([until(), early]);
    } finally {
      abort.abort();
    }
    return job;
  }
}

/** `partition/offset=value` of each record, sorted: what a test compares exactly. */
export function located(records: readonly { partition: number; offset: number; value: string | null }[]): string[] {
  return records.map((r) => `${r.partition}/${r.offset}=${r.value ?? ''}`).sort();
}

/** JSON values of read-back records. */
export function values<T>(records: readonly ReadBack[]): T[] {
  return records.map((r) => JSON.parse(r.value ?? 'null') as T);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
